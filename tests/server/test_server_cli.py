"""``fabric-livy serve`` options: loopback-only by default, bearer token, bad options."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests
from server_api import LAKEHOUSE, WORKSPACE, Api

from fabric_livy_magics.server.launcher import find_running_server, start_server, state_file


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fabric_livy_magics.server", "serve", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("extra", [(), ("--allow-remote",), ("--token", "s3cret")])
def test_non_loopback_host_is_refused_without_allow_remote_and_token(extra: tuple[str, ...]) -> None:
    done = _serve("--host", "0.0.0.0", "--port", "0", *extra)
    assert done.returncode == 2
    assert "refusing to listen on non-loopback host 0.0.0.0" in done.stderr
    assert "--allow-remote" in done.stderr
    assert "s3cret" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(("--session-ttl", "later"), "bad --session-ttl"), (("--spark-conf", "novalue"), "bad --spark-conf"), (("--port", "70000"), "bad --port"),
     (("--max-body-mb", "nan"), "bad --max-body-mb nan"), (("--body-timeout", "0"), "bad --body-timeout 0"),
     (("--header-timeout", "inf"), "bad --header-timeout inf")],
)
def test_bad_options_get_one_line_errors(args: tuple[str, ...], fragment: str) -> None:
    done = _serve("--port", "0", *args)
    assert done.returncode == 2 and fragment in done.stderr and "Traceback" not in done.stderr


def test_port_in_use_is_reported(livy_server) -> None:
    port = livy_server.url.rsplit(":", 1)[1]
    done = _serve("--port", port)
    assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_token_is_required_on_every_request_in_both_shapes(tmp_path) -> None:
    server = start_server(port=0, token="t0ken-value-0123456789", log_path=tmp_path / "server.log")
    try:
        assert requests.get(server.url + "/version", timeout=10).status_code == 401
        wrong = requests.get(server.url + "/sessions", headers={"Authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 401 and "bearer token" in wrong.json()["msg"]
        fabric = requests.get(server.fabric_url(WORKSPACE, LAKEHOUSE) + "/sessions", timeout=10)
        assert fabric.status_code == 401 and fabric.json()["errorCode"] == "Unauthorized"
        assert fabric.json()["requestId"] == fabric.headers["x-ms-request-id"]
        assert Api(server.url, token="t0ken-value-0123456789").get("/sessions").json()["total"] == 0
        assert Api(server.fabric_url(WORKSPACE, LAKEHOUSE), token="t0ken-value-0123456789").get("/sessions").status_code == 200
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text()
    assert "t0ken-value-0123456789" not in log
    assert "t0ken-value-0123456789" not in repr(server)


def test_remembered_server_is_found_and_forgotten_after_stop(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert find_running_server() is None
    server = start_server(port=0, log_path=tmp_path / "server.log", remember=True)
    try:
        assert state_file().stat().st_mode & 0o077 == 0
        found = find_running_server()
        assert found is not None and found.url == server.url and found.pid == server.pid
    finally:
        server.stop()
    assert find_running_server() is None
    assert not state_file().exists()
