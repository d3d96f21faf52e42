"""Two real kernels (jupyter_client, python3 with ``%load_ext fabric_livy_magics``, nothing configured)
share the local server the first one starts: it outlives that kernel, and once it is gone the
next cell of the other kernel starts a new one and runs."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

from fabric_livy_magics.server.launcher import find_running_server
from tests.kernel_cells import execute, shown

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

#: Anything that would give the kernels a target: they must fall back to the local server.
_TARGET_VARS = ("FABRIC_LIVY_CONNECTION_STRING", "FABRIC_WORKSPACE_ID", "FABRIC_LAKEHOUSE_ID", "FABRIC_LIVY_URL",
                "LIVY_URL", "FABRIC_LIVY_AUTH_METHOD", "FABRIC_ENVIRONMENT_ID")
STARTING = "Starting the local Livy server"




def remote(client: Any, code: str) -> str:
    reply = execute(client, f"%%livy\n{code}")
    assert reply["status"] == "ok", shown(reply)
    return reply["text"]


@pytest.fixture()
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Nothing configured, the local server allowed, a private cache dir; the server is stopped at the end.

    ``FABRIC_LIVY_LOCAL_WARM=0``: the pool is tested in tests/server/test_warm_pool.py; here it
    would only add Spark starts."""
    (tmp_path / "config.toml").write_text("")
    env = {key: value for key, value in os.environ.items() if key not in _TARGET_VARS}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), FABRIC_LIVY_CONFIG=str(tmp_path / "config.toml"),
               FABRIC_LIVY_AUTO_LOCAL="1", FABRIC_LIVY_LOCAL_WARM="0", FABRIC_LIVY_LOCAL_MASTER="local[1]",
               FABRIC_LIVY_REATTACH="never", FABRIC_LIVY_EAGER_START="0")
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])  # so that this process finds the server too
    yield env
    server = find_running_server()
    if server is not None:
        server.stop()


def _kernel(env: dict[str, str], cwd: Path) -> tuple[Any, Any]:
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=120, env=env, cwd=str(cwd))
    reply = execute(client, "%load_ext fabric_livy_magics")
    assert reply["status"] == "ok", shown(reply)
    return manager, client


def _close(manager: Any, client: Any) -> None:
    client.stop_channels()
    manager.shutdown_kernel(now=False)


def test_the_local_server_outlives_the_kernel_that_started_it_and_comes_back(
    kernel_env: dict[str, str], tmp_path: Path
) -> None:
    temporary_logs = set(Path(tempfile.gettempdir()).glob("fabric-livy-serve-*.log"))
    first = _kernel(kernel_env, tmp_path)
    second = None
    try:
        out = remote(first[1], "kept = 'from kernel 1'\nprint('one', spark.range(3).count())")
        assert STARTING in out and "one 3" in out
        server = find_running_server()
        assert server is not None and server.alive()

        second = _kernel(kernel_env, tmp_path)
        out = remote(second[1], "mine = 'kernel 2'\nprint('two', spark.range(4).count())")
        assert "two 4" in out and STARTING not in out  # the running server was reused
        assert find_running_server().pid == server.pid

        _close(*first)
        first = None
        assert server.alive(), "the server died with the kernel that started it"
        assert "two kernel 2" in remote(second[1], "print('two', mine)")  # its session and state are intact

        os.kill(server.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while server.alive():
            assert time.monotonic() < deadline, "the killed server is still there"
            time.sleep(0.1)
        out = remote(second[1], "print('three', spark.range(6).count())")
        assert "has stopped" in out and STARTING in out and "three 6" in out
        replacement = find_running_server()
        assert replacement is not None and replacement.pid != server.pid
        assert "three 2" in remote(second[1], "print('three', spark.range(2).count())")
        assert set(Path(tempfile.gettempdir()).glob("fabric-livy-serve-*.log")) == temporary_logs
        assert replacement.log_path == Path(kernel_env["XDG_CACHE_HOME"]) / "fabric-livy" / "local-server.log"
    finally:
        for kernel in (first, second):
            if kernel is not None:
                _close(*kernel)
