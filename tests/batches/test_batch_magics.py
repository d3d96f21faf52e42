"""``%livy batch ...`` and ``%livy batches`` in a real IPython shell against the local server."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import LAKEHOUSE, PYTHON, WORKSPACE, cli_env, processes_running
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from fabric_livy_magics.livy.batches import BatchClient, BatchFailed, BatchNotFound
from fabric_livy_magics.livy.models import BatchState

pytestmark = pytest.mark.timeout(180)


def run(shell: InteractiveShell, line: str) -> str:
    with capture_output() as captured:
        shell.run_line_magic("livy", line)
    return captured.stdout


def test_submit_wait_shows_the_outcome_and_the_log_end_then_status_logs_and_table(
        shell: InteractiveShell, livy_server: Any, scripts: dict[str, Path]) -> None:
    run(shell, f"connect --url {livy_server.url}")
    out = run(shell, f"batch submit {scripts['ok']} --args one two --conf spark.sql.shuffle.partitions=2 "
                     "--name magic-ok --wait")
    batch_id = re.search(r"Submitted batch (\d+)", out).group(1)
    assert f"Batch {batch_id} succeeded after" in out
    assert "RESULT 55 one two" in out  # the last log lines follow the outcome
    assert run(shell, f"batch status {batch_id}").strip() == f"Batch {batch_id} (magic-ok): success"
    assert "RESULT 55 one two" in run(shell, f"batch logs {batch_id} -n 30")
    with capture_output() as captured:
        shell.run_line_magic("livy", "batches")
    table = captured.outputs[0].data["text/plain"]
    assert "magic-ok" in table and "success" in table


def test_a_failing_batch_fails_the_cell_with_its_exception(
        shell: InteractiveShell, livy_server: Any, scripts: dict[str, Path]) -> None:
    run(shell, f"connect --url {livy_server.fabric_url(WORKSPACE, LAKEHOUSE)}")
    with capture_output() as captured, pytest.raises(BatchFailed) as caught:
        shell.run_line_magic("livy", f"batch submit {scripts['fail']} --wait -n 15")
    assert "ValueError: no rows for 2024-01-01" in str(caught.value)
    assert "Traceback" in captured.stdout  # the log's end is shown before the error
    assert caught.value._render_traceback_()[0].startswith("BatchFailed: Batch ")
    result = shell.run_cell(f"%livy batch status {caught.value.batch_id}")
    assert result.error_in_exec is None


def test_cancel_from_the_notebook_stops_a_job_submitted_from_the_shell(
        shell: InteractiveShell, livy_server: Any, scripts: dict[str, Path], tmp_path: Path,
        livy_batches: BatchClient) -> None:
    submitted = subprocess.run(
        [PYTHON, "-m", "fabric_livy_magics", "batch", "submit", str(scripts["long"]), "--name", "long"],
        env=cli_env(livy_server.url, tmp_path), capture_output=True, text=True, timeout=60)
    assert submitted.returncode == 0, submitted.stderr
    batch_id = submitted.stdout.strip()
    assert batch_id.isdigit()
    deadline = time.monotonic() + 120
    while livy_batches.get_batch(int(batch_id)).state is not BatchState.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    run(shell, f"connect --url {livy_server.url}")
    assert f"Batch {batch_id} cancelled" in run(shell, f"batch cancel {batch_id}")
    assert "killed" in run(shell, f"batch status {batch_id}")
    assert processes_running(scripts["long"]) == []
    status = subprocess.run(
        [PYTHON, "-m", "fabric_livy_magics", "batch", "status", batch_id],
        env=cli_env(livy_server.url, tmp_path), capture_output=True, text=True, timeout=60)
    assert status.returncode == 1 and "killed" in status.stdout


def test_bad_input_gives_one_line_errors(shell: InteractiveShell, livy_server: Any, tmp_path: Path) -> None:
    run(shell, f"connect --url {livy_server.url}")
    with pytest.raises(UsageError, match="does not exist"):
        shell.run_line_magic("livy", f"batch submit {tmp_path / 'missing.py'}")
    with pytest.raises(BatchNotFound, match="not found"):
        shell.run_line_magic("livy", "batch status 424242")
    with pytest.raises(UsageError, match="whole numbers"):
        shell.run_line_magic("livy", "batch logs not-an-id")
    with pytest.raises(UsageError, match="submit|status|logs|cancel"):
        shell.run_line_magic("livy", "batch launch x.py")
    result = shell.run_cell("%livy batch cancel 424242")
    assert isinstance(result.error_in_exec, BatchNotFound)
    with capture_output() as captured:
        shell.run_line_magic("livy", "help")
    assert "%livy batch submit" in captured.stdout and "%livy batches" in captured.stdout
