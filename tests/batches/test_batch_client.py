"""BatchClient against the real local server: real spark-submit jobs in both URL shapes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from batch_helpers import LAKEHOUSE, PYTHON, WORKSPACE, cli_env, processes_running

from fabric_livy_magics.livy.batches import BatchClient, BatchNotFound, resolve_batch_file
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint
from fabric_livy_magics.errors import ConfigurationError, MalformedResponse
from fabric_livy_magics.livy.models import Batch, BatchPage, BatchState

pytestmark = pytest.mark.timeout(180)


def test_livy_shape_runs_a_script_to_success_with_its_output_in_the_log(
        livy_batches: BatchClient, scripts: dict[str, Path]) -> None:
    created = livy_batches.create_batch(str(scripts["ok"]), args=["alpha", "beta"], name="sum-job",
                                        conf={"spark.sql.shuffle.partitions": 2})
    assert isinstance(created.id, int)
    assert created.state in (BatchState.NOT_STARTED, BatchState.STARTING)
    seen: list[str] = []
    done = livy_batches.wait_for_batch(created.id, timeout=150,
                                       on_state_change=lambda b: seen.append(b.phase))
    assert done.state is BatchState.SUCCESS and done.succeeded
    assert seen[-1] == "success" and "running" in seen
    log = livy_batches.get_batch_log(created.id, size=1000)
    assert "RESULT 55 alpha beta" in log.lines
    assert log.total is not None and log.total >= len(log.lines)
    assert livy_batches.get_batch_state(created.id) is BatchState.SUCCESS
    page = livy_batches.list_batches(start=0, size=50)
    assert created.id in [b.id for b in page.batches] and page.total is not None
    assert livy_batches.get_batch(created.id).name == "sum-job"


def test_cancel_kills_the_whole_job_and_leaves_no_jvm(
        fabric_batches: BatchClient, scripts: dict[str, Path], livy_server: Any, tmp_path: Path) -> None:
    created = fabric_batches.create_batch(str(scripts["long"]))
    deadline = time.monotonic() + 120
    while fabric_batches.get_batch(created.id).state is not BatchState.RUNNING:
        assert time.monotonic() < deadline, "the long job never reached running"
        time.sleep(0.5)
    while not any("LONG JOB STARTED" in line for line in fabric_batches.get_batch(created.id).log):
        assert time.monotonic() < deadline, "the long job's driver never printed"
        time.sleep(0.5)
    running = processes_running(scripts["long"])
    assert any("java" in (p.name() or "") for p in running), "expected a spark-submit JVM"
    # cancelled through the shell command, as a CI script would
    cancel = subprocess.run([PYTHON, "-m", "fabric_livy_magics", "batch", "cancel", str(created.id)],
                            env=cli_env(livy_server.fabric_url(WORKSPACE, LAKEHOUSE), tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert cancel.returncode == 0, cancel.stderr
    cancelled = fabric_batches.get_batch(created.id)
    assert cancelled.state is BatchState.KILLED and cancelled.result == "Cancelled"
    assert cancelled.is_finished and not cancelled.succeeded
    assert processes_running(scripts["long"]) == []  # no orphan JVM or Python driver
    fabric_batches.cancel_batch(created.id)  # repeating is harmless


def test_server_shutdown_kills_running_batches(scripts: dict[str, Path], tmp_path: Path) -> None:
    """A server of its own, stopped with SIGTERM while a job runs: the job goes with it."""
    from fabric_livy_magics.livy.client import LivyClient
    from fabric_livy_magics.server.launcher import start_server

    script = tmp_path / "outlive_job.py"  # its own path, so leftovers cannot confuse other tests
    script.write_text(scripts["long"].read_text())
    server = start_server(port=0, master="local[1]", log_path=tmp_path / "server.log")
    try:
        with LivyClient(server.url) as client:
            created = BatchClient(client).create_batch(str(script), name="outlived")
            assert created.id == 0
        deadline = time.monotonic() + 120
        while not any("java" in p.name() for p in processes_running(script)):
            assert time.monotonic() < deadline, "the job's JVM never started"
            time.sleep(0.2)
        os.kill(server.pid, signal.SIGTERM)
        assert server._popen is not None
        server._popen.wait(timeout=60)
        # checked before RunningServer.stop() would clean up leftovers itself
        assert processes_running(script) == []
    finally:
        server.stop()
        leftovers = processes_running(script)  # this test's own job, if the server left it behind
        for proc in leftovers:
            proc.kill()
        psutil.wait_procs(leftovers, timeout=10)


# --- bad input (no JVM started) ------------------------------------------------------------

def test_missing_local_file_fails_before_anything_is_sent(livy_batches: BatchClient, tmp_path: Path) -> None:
    before = livy_batches.list_batches().total
    with pytest.raises(ConfigurationError, match="does not exist"):
        livy_batches.create_batch(str(tmp_path / "nope.py"))
    with pytest.raises(ConfigurationError, match="directory"):
        livy_batches.create_batch(str(tmp_path))
    assert livy_batches.list_batches().total == before


def test_server_refuses_a_missing_file_and_remote_urls_with_400(livy_server: Any, tmp_path: Path) -> None:
    livy = requests.post(f"{livy_server.url}/batches", json={"file": str(tmp_path / "gone.py")},
                         headers={"X-Requested-By": "t"}, timeout=10)
    assert livy.status_code == 400 and "does not exist on the server" in livy.json()["msg"]
    fabric = requests.post(f"{livy_server.fabric_url(WORKSPACE, LAKEHOUSE)}/batches",
                           json={"file": "abfss://ws@onelake.dfs.fabric.microsoft.com/lh/Files/j.py"},
                           headers={"Authorization": "Bearer any"}, timeout=10)
    assert fabric.status_code == 400
    body = fabric.json()
    assert body["errorCode"] == "InvalidRequest" and "abfss://" in body["message"] and body["requestId"]
    unknown = requests.post(f"{livy_server.url}/batches", json={"file": "/x.py", "bogus": 1},
                            headers={"X-Requested-By": "t"}, timeout=10)
    assert unknown.status_code == 400 and "bogus" in unknown.json()["msg"]
    no_file = requests.post(f"{livy_server.url}/batches", json={}, headers={"X-Requested-By": "t"}, timeout=10)
    assert no_file.status_code == 400 and "'file' is required" in no_file.json()["msg"]


def test_unknown_batch_ids_are_a_clear_not_found(livy_batches: BatchClient,
                                                 fabric_batches: BatchClient) -> None:
    with pytest.raises(BatchNotFound, match="Batch '987654' not found"):
        livy_batches.get_batch(987654)
    with pytest.raises(BatchNotFound):
        livy_batches.get_batch_log(987654)
    with pytest.raises(BatchNotFound):
        fabric_batches.cancel_batch("3f2a4b5c-0000-4000-8000-000000000000")
    fabric_batches.cancel_batch("3f2a4b5c-0000-4000-8000-000000000000", missing_ok=True)


def test_remote_paths_pass_through_untouched_and_local_ones_are_refused_by_fabric(tmp_path: Path) -> None:
    fabric = FabricEndpoint(WORKSPACE, LAKEHOUSE)  # the real Fabric host: never contacted here
    path = "abfss://ws@onelake.dfs.fabric.microsoft.com/lh.Lakehouse/Files/jobs/daily job.py"
    assert resolve_batch_file(path, fabric) == path
    script = tmp_path / "job.py"
    script.write_text("print(1)")
    with pytest.raises(ConfigurationError, match="Upload it to OneLake"):
        resolve_batch_file(str(script), fabric)
    local = LivyEndpoint("http://127.0.0.1:8998")
    assert resolve_batch_file(f"file://{script}", local) == str(script)
    assert resolve_batch_file("hdfs:///jobs/x.py", local) == "hdfs:///jobs/x.py"
    remote_livy = LivyEndpoint("https://livy.example.com")
    assert resolve_batch_file("/opt/jobs/x.py", remote_livy) == "/opt/jobs/x.py"  # the server's disk


def test_livy_batch_takes_no_tags(livy_batches: BatchClient, scripts: dict[str, Path]) -> None:
    with pytest.raises(ConfigurationError, match="no tags"):
        livy_batches.batch_body(str(scripts["ok"]), tags={"a": "b"})


def test_models_read_fabric_list_items_and_tolerate_unknown_states() -> None:
    item = Batch.from_json({"id": "8c0e2f1a-1111-4222-8333-944455556666", "livyState": "Success",
                            "result": "Succeeded", "name": "n", "schedulerState": "Ended"})
    assert item.state is BatchState.SUCCESS and item.succeeded and item.is_finished
    assert item.extra["schedulerState"] == "Ended"
    queued = Batch.from_json({"id": "8c0e2f1a-1111-4222-8333-944455556666",
                              "fabricBatchStateInfo": {"state": "libraryPackaging"}})
    assert queued.phase == "libraryPackaging" and not queued.is_finished
    refused = Batch.from_json({"id": "8c0e2f1a-1111-4222-8333-944455556666", "state": "not_started",
                               "fabricBatchStateInfo": {"state": "error", "errorMessage": "no capacity"}})
    assert refused.is_finished and refused.error_message == "no capacity"
    odd = Batch.from_json({"id": 4, "state": "SomethingNew"})
    assert odd.state is BatchState.UNKNOWN and not odd.is_finished
    page = BatchPage.from_json({"items": [{"id": 1, "state": "running"}], "totalCountOfMatchedItems": 7})
    assert page.total == 7 and page.batches[0].state is BatchState.RUNNING
    with pytest.raises(MalformedResponse, match="'id'"):
        Batch.from_json({"state": "running"}, "http://x/batches/1")
