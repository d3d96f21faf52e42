"""The wrapper kernel for real: started by jupyter_client, cells remote by default, %%local here,
completion from the remote namespace, interrupt cancels the remote statement."""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.notebook.kernelspec import install_kernel, uninstall_kernel
from tests import kernel_cells

execute = functools.partial(kernel_cells.execute, results=True)  # Out[] counts as shown text

KERNEL_NAME = "fabric-livy-live-tests"


@pytest.fixture(scope="module")
def kernel(livy_server: Any) -> Iterator[Any]:
    install_kernel(KERNEL_NAME, prefix=sys.prefix)
    manager, client = start_new_kernel(kernel_name=KERNEL_NAME, startup_timeout=120)
    try:
        reply = execute(client, f"%livy connect --url {livy_server.url}")
        assert reply["status"] == "ok", reply
        yield manager, client
    finally:
        execute(client, "%livy stop")
        client.stop_channels()
        manager.shutdown_kernel(now=False)
        uninstall_kernel(KERNEL_NAME)




def test_cells_run_remotely_unless_marked_local(kernel: Any) -> None:
    _, client = kernel
    remote = execute(client, "import os\nremote_pid = os.getpid()\nprint('remote', remote_pid)")
    assert remote["status"] == "ok", remote
    remote_pid = int(remote["text"].split()[-1])
    local = execute(client, "%%local\nimport os\nprint('local', os.getpid())")
    assert local["status"] == "ok", local
    local_pid = int(local["text"].split()[-1])
    assert remote_pid != local_pid and local_pid != os.getpid()
    assert "remote_pid" not in execute(client, "%%local\nprint(sorted(globals()))")["text"]



def test_fabric_cell_magics_run_remotely(kernel: Any) -> None:
    """``%%pyspark`` and ``%%sql`` (with options) work as in a Fabric notebook."""
    _, client = kernel
    made = execute(client, "%%pyspark\nimport os\nhabit_pid = os.getpid()\nspark.range(3).createOrReplaceTempView('habit_view')")
    assert made["status"] == "ok", made
    sql = execute(client, "%%sql -o habit_rows\nSELECT id * 10 AS tens FROM habit_view ORDER BY id")
    assert sql["status"] == "ok", sql
    local = execute(client, "%%local\nprint(habit_rows['tens'].tolist())")
    assert local["text"].strip() == "[0, 10, 20]", local
    assert "habit_pid" not in execute(client, "%%local\nprint(sorted(globals()))")["text"]

def test_remote_error_fails_the_cell_with_the_remote_traceback(kernel: Any) -> None:
    _, client = kernel
    reply = execute(client, "1 / 0")
    assert reply["status"] == "error"
    assert reply["errors"] and reply["errors"][0]["ename"] == "StatementFailed"
    assert any("ZeroDivisionError" in line for line in reply["errors"][0]["traceback"])


def test_completion_comes_from_the_remote_namespace(kernel: Any) -> None:
    _, client = kernel
    assert execute(client, "distinctive_remote_name = 41")["status"] == "ok"
    code = "distinctive_rem"
    msg_id = client.complete(code, len(code))
    reply = client.get_shell_msg(timeout=60)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert "distinctive_remote_name" in reply["content"]["matches"]
    assert reply["content"]["cursor_start"] == 0


def test_interrupt_cancels_the_remote_statement(kernel: Any, livy_server: Any) -> None:
    manager, client = kernel
    msg_id = client.execute("import time\nfor _ in range(600):\n    time.sleep(0.1)")
    time.sleep(4)  # let the statement reach the server and start
    manager.interrupt_kernel()
    deadline = time.monotonic() + 60
    errors = []
    while time.monotonic() < deadline:
        message = client.get_iopub_msg(timeout=60)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        if message["msg_type"] == "error":
            errors.append(message["content"])
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
    client.get_shell_msg(timeout=30)
    assert errors and errors[0]["ename"] == "StatementCancelled", errors
    with LivyClient(livy_server.url) as server:
        session_id = int(execute(client, "%livy status")["text"].split()[1].rstrip(":,"))
        sleeper = [s for s in server.list_statements(session_id) if "time.sleep(0.1)" in (s.code or "")]
        assert len(sleeper) == 1 and str(sleeper[0].state) == "cancelled"


def test_export_without_a_notebook_file_uses_the_cells_this_kernel_ran(kernel: Any, tmp_path: Any) -> None:
    """No frontend names a file here, so ``%livy export`` takes the kernel's history: remote cells
    (unmarked, in this kernel) in the order they ran, ``%%local`` ones left out."""
    _, client = kernel
    assert execute(client, "export_rows = spark.range(4)")["status"] == "ok"
    assert execute(client, "%%local\nlocal_only_value = 1")["status"] == "ok"
    assert execute(client, "print('EXPORTED', export_rows.count())")["status"] == "ok"
    target = tmp_path / "from_history.py"
    done = execute(client, f"%livy export -o {target}")
    assert done["status"] == "ok", done
    assert "cell(s) this kernel ran, in the order they ran" in done["text"], done["text"]
    script = target.read_text()
    compile(script, str(target), "exec")
    assert script.index("export_rows = spark.range(4)") < script.index("print('EXPORTED', export_rows.count())")
    assert "local_only_value" not in script and "%livy export" not in script
