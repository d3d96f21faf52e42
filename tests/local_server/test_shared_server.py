"""This user's shared local server (``start_server(remember=True)``): detached, found by every
kernel through files in the cache dir that hold no secret, stopping itself once unused."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from fabric_livy_magics.server.launcher import (
    RunningServer,
    ServerStartError,
    find_running_server,
    start_server,
    state_file,
)
from fabric_livy_magics.server.process import find_session_process
from tests.secret_scan import register_log_file, register_secret


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private cache dir; any shared server a test leaves running is stopped afterwards."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("FABRIC_LIVY_LOCAL_WARM", "0")  # no Spark unless a test starts a session
    yield tmp_path / "cache" / "fabric-livy"
    server = find_running_server()
    if server is not None:
        server.stop()


def _wait_gone(server: RunningServer, timeout: float) -> float:
    started = time.monotonic()
    while server.alive():
        assert time.monotonic() - started < timeout, f"the server still runs after {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - started


def _temp_logs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("fabric-livy-serve-*.log")}


def test_shared_server_is_detached_found_by_others_and_keeps_its_secret_private(cache: Path) -> None:
    before = _temp_logs()
    server = start_server(remember=True)
    register_secret(server.token)  # in its 0600 file only: in no output, not in its log
    assert server.log_path is not None
    register_log_file(server.log_path)
    assert os.getsid(server.pid) == server.pid != os.getsid(0)  # its own session: a kernel's group signal misses it
    assert os.getpgid(server.pid) == server.pid
    record = json.loads(state_file().read_text())
    assert set(record) == {"url", "pid", "token_file", "log_path"} and server.token not in state_file().read_text()
    token_file = Path(record["token_file"])
    assert token_file.read_text() == server.token and len(server.token or "") >= 32
    for private in (token_file, state_file()):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert Path(record["log_path"]).parent == cache and _temp_logs() == before
    assert requests.get(server.url + "/version", timeout=10).status_code == 401  # the secret is required

    found = find_running_server()
    assert found is not None and (found.url, found.pid, found.token) == (server.url, server.pid, server.token)
    again = start_server(remember=True)  # another kernel starting "its" server gets this one
    assert again.pid == server.pid
    server.stop()
    assert find_running_server() is None and not state_file().exists() and not token_file.exists()


def test_shared_server_stops_itself_once_unused(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FABRIC_LIVY_LOCAL_IDLE_EXIT", "2s")
    server = start_server(remember=True)
    headers = {"Authorization": f"Bearer {server.token}"}
    for _ in range(8):  # requests keep it alive
        assert requests.get(server.url + "/sessions", headers=headers, timeout=10).status_code == 200
        time.sleep(0.5)
    assert server.alive()
    _wait_gone(server, timeout=30)
    assert "(--idle-exit): stopping" in (cache / "local-server.log").read_text()
    assert find_running_server() is None


def test_a_live_session_keeps_the_shared_server_running(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session's process is paused (SIGSTOP) so that it holds no CPU while it counts as live."""
    monkeypatch.setenv("FABRIC_LIVY_LOCAL_IDLE_EXIT", "1s")
    server = start_server(remember=True, master="local[1]")
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {server.token}", "X-Requested-By": "tests"})
    session = http.post(server.url + "/sessions", json={"kind": "pyspark"}, timeout=10).json()["id"]
    process = None
    while process is None:
        process = find_session_process(server.pid, session)
    process.suspend()
    try:
        time.sleep(4)
        assert server.alive() and http.get(f"{server.url}/sessions/{session}", timeout=10).json()["state"] == "starting"
    finally:
        process.send_signal(signal.SIGKILL)  # the session ends (error): nothing keeps the server now
    assert _wait_gone(server, timeout=60) < 60
    assert not psutil.pid_exists(process.pid) or process.status() == psutil.STATUS_ZOMBIE


def test_a_private_server_removes_the_temporary_log_it_made() -> None:
    before = _temp_logs()
    server = start_server()
    assert server.log_path is not None and server.log_path.name not in before and server.log_path.exists()
    server.stop()
    assert not server.log_path.exists()


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("FABRIC_LIVY_LOCAL_WARM", "lots", "a whole number from 0 to 8, got 'lots'"),
    ("FABRIC_LIVY_LOCAL_IDLE_EXIT", "soon", "'soon' is not a duration"),
])
def test_a_bad_setting_of_the_shared_server_is_one_line_naming_it(
    cache: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ServerStartError) as info:
        start_server(remember=True)
    message = str(info.value)
    assert variable in message and says in message and "\n" not in message
    assert not state_file().exists()


@pytest.mark.parametrize("option", [("--warm", "9"), ("--warm", "-1"), ("--idle-exit", "soon")])
def test_serve_refuses_a_bad_warm_or_idle_exit_in_one_line(option: tuple[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "fabric_livy_magics.server", "--port", "0", *option],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"fabric-livy serve: bad {option[0]}") and done.stderr.count("\n") == 1
