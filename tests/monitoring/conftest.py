"""Monitoring tests share one real Spark session with its Spark UI on (the local server starts
sessions without one unless asked), one finished batch, and a real IPython shell.

Both URL shapes reach the same session: the Fabric shape by its GUID, the Livy shape by its number.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from monitoring_helpers import LH, SESSION_NAME, WS

from fabric_livy_magics.livy.batches import BatchClient
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint
from fabric_livy_magics.livy.models import Batch, Session

#: Nothing asked for: the local server's sessions have Spark's UI (its REST API feeds the metrics) by default.
UI_CONF: dict[str, str] = {}

BATCH_SCRIPT = '''\
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
print("BATCH SUM", spark.range(1, 11).groupBy().sum("id").collect()[0][0], flush=True)
spark.stop()
'''


@pytest.fixture(scope="session")
def fabric_client(livy_server: Any) -> Iterator[LivyClient]:
    with LivyClient(FabricEndpoint(WS, LH, base_url=livy_server.url), timeout=(5, 60)) as client:
        yield client


@pytest.fixture(scope="session")
def livy_client(livy_server: Any) -> Iterator[LivyClient]:
    with LivyClient(LivyEndpoint(livy_server.url), timeout=(5, 60)) as client:
        yield client


@pytest.fixture(scope="session")
def ui_session(fabric_client: LivyClient) -> Iterator[Session]:
    """The shared session (Fabric view), idle, with one multi-stage job already run."""
    created = fabric_client.create_session(name=SESSION_NAME, conf=UI_CONF)
    session = fabric_client.wait_for_session(created.id, timeout=240)
    fabric_client.run_statement(session, "df = spark.range(0, 20000, 1, 4)\n"
                                "df.repartition(3).groupBy((df.id % 5).alias('k')).count().count()", kind="pyspark")
    yield session
    fabric_client.delete_session(session.id, missing_ok=True)


@pytest.fixture(scope="session")
def livy_number(livy_client: LivyClient, ui_session: Session) -> int:
    """The shared session's number in the Livy shape."""
    (number,) = [s.id for s in livy_client.iter_sessions() if s.name == SESSION_NAME and not s.has_ended]
    assert isinstance(number, int)
    return number


@pytest.fixture(scope="session")
def finished_batch(fabric_client: LivyClient, tmp_path_factory: pytest.TempPathFactory) -> Batch:
    """One small batch job, run to its end (a JVM of its own: the only one these tests start)."""
    script: Path = tmp_path_factory.mktemp("monitoring-batch") / "sum_job.py"
    script.write_text(BATCH_SCRIPT)
    batches = BatchClient(fabric_client)
    batch = batches.create_batch(str(script), name="monitoring-batch")
    return batches.wait_for_batch(batch.id, timeout=240, raise_on_failure=True)


