"""``%livy batch status ID --detail`` and ``fabric-livy batch logs ID --driver`` over the monitoring
API (the local server's Fabric shape, real Spark) and over the Livy shape. One real batch job."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from fabric_livy_magics.livy.batches import BatchClient
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.models import Batch

pytestmark = pytest.mark.timeout(300)

WS = "3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
LH = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
SCRIPT = '''\
import sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
total = spark.range(0, 1000, 1, 4).repartition(3).groupBy().sum("id").collect()[0][0]
print("DETAIL SUM", total, flush=True)
print("DETAIL ERR", file=sys.stderr, flush=True)
spark.stop()
'''


@pytest.fixture(scope="module")
def fabric_url(livy_server: Any) -> str:
    return livy_server.fabric_url(WS, LH)


@pytest.fixture(scope="module")
def batch(fabric_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Batch]:
    script: Path = tmp_path_factory.mktemp("detail-batch") / "detail_job.py"
    script.write_text(SCRIPT)
    with LivyClient(fabric_url, timeout=(5, 60)) as client:
        batches = BatchClient(client)
        created = batches.create_batch(str(script), name="detail-batch")
        yield batches.wait_for_batch(created.id, timeout=240, raise_on_failure=True)


def _cli(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FABRIC_", "AZURE_")) and k != "LIVY_URL"}
    env.update(FABRIC_LIVY_URL=url, XDG_CONFIG_HOME=str(tmp_path / "config"))
    return subprocess.run([sys.executable, "-m", "fabric_livy_magics", "batch", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _rows(text: str) -> dict[str, str]:
    """``field   value`` lines (fields padded to 17 characters) as a dict."""
    return {line[:17].strip(): line[17:].strip() for line in text.strip().splitlines()}


def test_status_detail_shows_the_runs_record_from_the_monitoring_api(shell: Any, fabric_url: str,
                                                                    batch: Batch) -> None:
    """Timings come only from the monitoring API's run record (a batch object has none). The local
    server keeps no Spark metrics for batch jobs (Fabric does): the detail says what it has."""
    shell.run_line_magic("livy", f"connect --connection-string {fabric_url}/sessions")
    with capture_output() as cap:
        shell.run_line_magic("livy", f"batch status {batch.id} --detail")
    rows = _rows(cap.stdout)
    assert rows["id"] == str(batch.id) and rows["state"] == "success" and rows["name"] == "detail-batch"
    assert rows["duration"] != "-" and rows["queued"].endswith(" s") and rows["submitted"] != "-"
    assert rows["Spark work"]


def test_status_detail_on_livy_says_where_the_rest_is(shell: Any, livy_server: Any, batch: Batch) -> None:
    with LivyClient(livy_server.url) as client:
        (number,) = [b.id for b in BatchClient(client).iter_batches() if b.name == "detail-batch"]
    shell.run_line_magic("livy", f"connect --url {livy_server.url}")
    with capture_output() as cap:
        shell.run_line_magic("livy", f"batch status {number} --detail")
    rows = _rows(cap.stdout)
    assert rows["state"] == "success" and "Apache Livy has no monitoring API" in rows["Spark work"]


def test_cli_logs_driver_reads_the_driver_log_file(fabric_url: str, batch: Batch, tmp_path: Path) -> None:
    driver = _cli(fabric_url, tmp_path, "logs", str(batch.id), "--driver", "-n", "400")
    assert driver.returncode == 0, driver.stderr
    assert "DETAIL SUM 499500" in driver.stdout and "DETAIL ERR" in driver.stdout
    assert "INFO DAGScheduler" in driver.stdout  # Spark's own log: the driver's file, not only prints
    assert len(_cli(fabric_url, tmp_path, "logs", str(batch.id), "--driver", "-n", "3").stdout.splitlines()) == 3
    # The local server keeps stdout and stderr in one file, and says so in one line (as a 404).
    stdout = _cli(fabric_url, tmp_path, "logs", str(batch.id), "--driver", "--stdout")
    assert stdout.returncode == 1 and "stdout and stderr together" in stdout.stderr
    assert len(stdout.stderr.strip().splitlines()) == 1 and "Traceback" not in stdout.stderr
    detail = _cli(fabric_url, tmp_path, "status", str(batch.id), "--detail")
    assert detail.returncode == 0 and "state\tsuccess" in detail.stdout and "duration\t" in detail.stdout
    refused = _cli(fabric_url, tmp_path, "logs", str(batch.id), "--stdout")
    assert refused.returncode == 2 and "use it with --driver" in refused.stderr


def test_magic_logs_driver_and_refusal(shell: Any, fabric_url: str, batch: Batch) -> None:
    shell.run_line_magic("livy", f"connect --connection-string {fabric_url}/sessions")
    with capture_output() as cap:
        shell.run_line_magic("livy", f"batch logs {batch.id} --driver -n 200")
    assert "DETAIL SUM 499500" in cap.stdout and "INFO DAGScheduler" in cap.stdout
    with pytest.raises(UsageError, match="use it with --driver"):
        shell.run_line_magic("livy", f"batch logs {batch.id} --stdout")
