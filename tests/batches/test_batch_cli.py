"""``fabric-livy batch ...`` as a subprocess (``python -m fabric_livy_magics``) with FABRIC_LIVY_URL."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import LAKEHOUSE, PYTHON, WORKSPACE, cli_env

from fabric_livy_magics.livy.batches import BatchClient, BatchFailed

pytestmark = pytest.mark.timeout(180)


def fabric_livy(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "fabric_livy_magics", "batch", *args],
                          env=cli_env(url, tmp_path), capture_output=True, text=True, timeout=170)


def test_submit_wait_exits_zero_on_success_and_status_logs_list_agree(
        livy_server: Any, scripts: dict[str, Path], tmp_path: Path) -> None:
    done = fabric_livy(livy_server.url, tmp_path, "submit", str(scripts["ok"]), "--args", "cli", "run",
                       "--name", "cli-ok", "--conf", "spark.sql.shuffle.partitions=2", "--wait")
    assert done.returncode == 0, done.stderr
    assert "RESULT 55 cli run" in done.stdout
    assert "succeeded after" in done.stderr
    batch_id = done.stderr.split("Submitted batch ")[1].split(".")[0]
    status = fabric_livy(livy_server.url, tmp_path, "status", batch_id)
    assert status.returncode == 0 and status.stdout.strip() == f"{batch_id}\tsuccess"
    logs = fabric_livy(livy_server.url, tmp_path, "logs", batch_id, "-n", "40")
    assert logs.returncode == 0 and "RESULT 55 cli run" in logs.stdout
    listing = fabric_livy(livy_server.url, tmp_path, "list")
    assert listing.returncode == 0
    assert f"{batch_id}\tsuccess\tcli-ok" in listing.stdout


def test_submit_wait_exits_non_zero_with_one_line_when_the_script_raises(
        livy_server: Any, scripts: dict[str, Path], tmp_path: Path, fabric_batches: BatchClient) -> None:
    url = livy_server.fabric_url(WORKSPACE, LAKEHOUSE)
    failed = fabric_livy(url, tmp_path, "submit", str(scripts["fail"]), "--wait", "-n", "0",
                         "--name", "cli-fail", "--target-lakehouse", LAKEHOUSE, "--tag", "team=data",
                         "--environment", "5b1f0a2c-9d8e-4f7a-b6c5-d4e3f2a1b0c9")
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("fabric-livy batch: Batch ") and "ValueError: no rows for 2024-01-01" in last
    assert "Traceback" not in failed.stderr  # no stack trace of ours
    listing = fabric_livy(url, tmp_path, "list")
    line = next(row for row in listing.stdout.splitlines() if "\tcli-fail\t" in row)
    batch_id, state = line.split("\t")[:2]
    assert state == "dead" and len(batch_id) == 36  # a Fabric GUID

    # The same batch seen through the client in Fabric's shape.
    done = fabric_batches.get_batch(batch_id)
    assert done.result == "Failed" and done.is_finished and not done.succeeded
    assert done.error_info and done.error_info[0].error_code == "SparkJobFailed"
    assert "ValueError" in (done.error_message or "")
    assert done.tags == {"team": "data"}
    conf = done.livy_info["jobCreationRequest"]["conf"]
    assert conf["spark.targetLakehouse"] == LAKEHOUSE and "spark.fabric.environmentDetails" in conf
    with pytest.raises(BatchFailed, match="ValueError: no rows") as caught:
        fabric_batches.wait_for_batch(batch_id, timeout=5, raise_on_failure=True)
    assert caught.value.state == "dead"
    everything = list(fabric_batches.iter_batches(page_size=1))  # Fabric paging: $top / $skip
    assert batch_id in [b.id for b in everything]
    assert len(fabric_batches.list_batches(size=1).batches) == 1
    assert fabric_batches.list_batches(start=len(everything)).batches == ()


def test_bad_input_exits_non_zero_with_a_clear_message(livy_server: Any, tmp_path: Path) -> None:
    missing = fabric_livy(livy_server.url, tmp_path, "submit", str(tmp_path / "nope.py"), "--wait")
    assert missing.returncode == 2  # found before anything is sent: a usage problem
    assert missing.stderr.strip().endswith("does not exist. Check the path and try again.")
    unknown = fabric_livy(livy_server.url, tmp_path, "status", "31337")
    assert unknown.returncode == 1 and "not found" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    cancel = fabric_livy(livy_server.url, tmp_path, "cancel", "31337")
    assert cancel.returncode == 1 and "not found" in cancel.stderr
    bad_id = fabric_livy(livy_server.fabric_url(WORKSPACE, LAKEHOUSE), tmp_path, "logs", "12")
    assert bad_id.returncode == 2 and "not a GUID" in bad_id.stderr
    nowhere = subprocess.run([PYTHON, "-m", "fabric_livy_magics", "batch", "list"],
                             env={**cli_env("", tmp_path), "FABRIC_LIVY_URL": ""},
                             capture_output=True, text=True, timeout=60)
    assert nowhere.returncode == 2 and "--url" in nowhere.stderr  # no target: exit 2, as documented
    usage = fabric_livy(livy_server.url, tmp_path, "submit")
    assert usage.returncode == 2


def test_script_arguments_may_start_with_a_dash_after_a_lone_double_dash(
        livy_server: Any, scripts: dict[str, Path], tmp_path: Path) -> None:
    done = fabric_livy(livy_server.url, tmp_path, "submit", str(scripts["ok"]), "--wait", "-n", "50",
                       "--", "--date", "2026-01", "-x")
    assert done.returncode == 0, done.stderr
    assert "--date 2026-01 -x" in done.stdout
    listed = fabric_livy(livy_server.url, tmp_path, "list")
    assert listed.returncode == 0 and listed.stdout.splitlines()[0] == "ID\tSTATE\tNAME\tAPP ID"
