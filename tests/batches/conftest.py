"""Batch tests: tiny real PySpark scripts, clients in both URL shapes, a real IPython shell.

Every submitted batch starts a JVM (~5-20 s on a busy 2-core machine), so the tests share the
session-scoped ``livy_server`` and submit as few batches as they can (8 in all; one more server
for the shutdown test).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batch_helpers import LAKEHOUSE, WORKSPACE

from fabric_livy_magics.livy.batches import BatchClient
from fabric_livy_magics.livy.client import LivyClient


OK_SCRIPT = '''\
import sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
total = spark.range(1, 11).groupBy().sum("id").collect()[0][0]
spark.stop()
print("RESULT", total, " ".join(sys.argv[1:]), flush=True)
'''

FAIL_SCRIPT = '''\
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
raise ValueError("no rows for 2024-01-01")
'''

LONG_SCRIPT = '''\
import time
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
print("LONG JOB STARTED", flush=True)
time.sleep(600)
'''


@pytest.fixture(scope="session")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three jobs, written once: succeeds and prints, raises, runs for ten minutes."""
    folder = tmp_path_factory.mktemp("batch-scripts")
    paths = {}
    for name, text in (("ok", OK_SCRIPT), ("fail", FAIL_SCRIPT), ("long", LONG_SCRIPT)):
        path = folder / f"{name}_job.py"
        path.write_text(text)
        paths[name] = path
    return paths


@pytest.fixture(scope="session")
def livy_batches(livy_server: Any) -> Iterator[BatchClient]:
    with LivyClient(livy_server.url) as client:
        yield BatchClient(client)


@pytest.fixture(scope="session")
def fabric_batches(livy_server: Any) -> Iterator[BatchClient]:
    with LivyClient(livy_server.fabric_url(WORKSPACE, LAKEHOUSE)) as client:
        yield BatchClient(client)


