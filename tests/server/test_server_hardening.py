"""The server's edges, tried as a hostile client over loopback: odd ids, odd numbers, deep JSON,
cross-site posts, oversized and slow bodies, weak shared secrets. Every case gets the right 4xx
with a one-line message in the caller's shape, and nothing reaches the log as an internal error."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import requests
from server_api import LAKEHOUSE, WORKSPACE, Api

from fabric_livy_magics.server.launcher import RunningServer, start_server

SHAPES = ["livy", "fabric"]
HUGE = "9" * 60


def _message(answer: requests.Response) -> str:
    body = answer.json()
    return body.get("msg") or body.get("message") or ""


def _api(request: pytest.FixtureRequest, shape: str) -> Api:
    return request.getfixturevalue(shape)


def _no_internal_errors(server: RunningServer) -> None:
    log = server.log_path.read_text(encoding="utf-8", errors="replace") if server.log_path else ""
    assert "internal error" not in log and "Traceback" not in log, log[-3000:]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/sessions/%C2%B2", 404, "Session '\\xb2' not found."),
        ("/sessions/%C2%B2/statements", 404, "Session '\\xb2' not found."),
        ("/sessions/%D9%A3", 404, "not found."),  # an Arabic-Indic digit: int() would take it
        (f"/sessions/{HUGE}", 404, "not found."),
        (f"/sessions/{'9' * 5000}", 404, "..."),  # past Python's int-conversion limit
        ("/batches/%C2%B2", 404, "Batch '\\xb2' not found."),
        (f"/batches/{HUGE}", 404, "not found."),
        ("/sessions?{skip}=%C2%B2", 400, "must be a whole number"),
        (f"/batches?{{top}}={HUGE}", 400, "must be a whole number"),
    ],
)
def test_odd_ids_and_numbers_get_4xx(request: pytest.FixtureRequest, livy_server: RunningServer, shape: str,
                                     path: str, status: int, fragment: str) -> None:
    api = _api(request, shape)
    names = {"skip": "from", "top": "size"} if shape == "livy" else {"skip": "$skip", "top": "$top"}
    path = path.replace("{skip}", names["skip"]).replace("{top}", names["top"])
    answer = api.get(path)
    assert answer.status_code == status, answer.text
    assert fragment in _message(answer) and "\n" not in _message(answer)
    _no_internal_errors(livy_server)


def test_livy_only_routes_with_odd_ids(livy: Api, livy_server: RunningServer) -> None:
    for path in ("/sessions/%C2%B2/log", "/sessions/%C2%B2/state", "/batches/%C2%B2/log", f"/sessions/{HUGE}/log"):
        answer = livy.get(path)
        assert answer.status_code == 404 and "not found." in _message(answer), answer.text
    _no_internal_errors(livy_server)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("route", "body", "fragment"),
    [
        ("/sessions", '{"conf": {"a": 1e400}}', "'conf.a' holds 1e400"),
        ("/sessions", '{"conf": {"a": NaN}}', "'conf.a' holds NaN"),
        ("/sessions", '{"conf": {"a": -Infinity}}', "'conf.a' holds -Infinity"),
        ("/sessions", '{"name": "x", "driverCores": 99999999999999999999999}', "'driverCores' holds 9999"),
        ("/sessions", '{"driverCores": 4294967296}', "'driverCores' must be between 0 and 2147483647"),
        ("/sessions", '{"ttl": "' + "9" * 31 + '"}', "Bad 'ttl'"),
        ("/sessions", '{"conf": {"livy.rsc.sql.num-rows": "lots"}}', "must be a whole number of rows"),
        ("/batches", '{"file": "job.py", "args": [1e400]}', "'args[0]' holds 1e400"),
        ("/sessions", "[" * 100_000 + "]" * 100_000, "nests too deeply"),
        ("/sessions", '{"a":' * 50_000 + "1" + "}" * 50_000, "nests too deeply"),
    ],
)
def test_odd_bodies_get_400_naming_the_field(request: pytest.FixtureRequest, livy_server: RunningServer,
                                             shape: str, route: str, body: str, fragment: str) -> None:
    api = _api(request, shape)
    answer = api.post(route, data=body.encode(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert fragment in _message(answer), _message(answer)
    _no_internal_errors(livy_server)


@pytest.mark.parametrize("shape", SHAPES)
def test_cross_site_posts_without_x_requested_by_are_refused(livy_server: RunningServer, shape: str) -> None:
    base = livy_server.url if shape == "livy" else livy_server.fabric_url(WORKSPACE, LAKEHOUSE)
    # What a web page on any origin can make a browser send without a preflight: a text/plain form post.
    for method, path in (("POST", "/sessions"), ("POST", "/batches"), ("DELETE", "/sessions/0"),
                         ("POST", "/sessions/0/statements")):
        answer = requests.request(method, base + path, data='{"kind": "pyspark"}', timeout=10,
                                  headers={"Content-Type": "text/plain", "Origin": "https://evil.example"})
        assert answer.status_code == 400, answer.text
        assert _message(answer).startswith("Missing Required Header for CSRF protection")
        if shape == "fabric":
            assert answer.json()["errorCode"] == "MissingCsrfHeader" and answer.json()["requestId"]
    assert Api(livy_server.url).get("/sessions").status_code == 200  # reads need no header
    # A Fabric client's Authorization header passes the rule too (a page cannot set one cross-site).
    answer = requests.post(base + "/sessions/%C2%B2/statements", json={"code": "1"}, timeout=10,
                           headers={"Authorization": "Bearer any"})
    assert answer.status_code == 404
    sessions = requests.get(livy_server.url + "/sessions", timeout=10).json()["sessions"]
    assert not any(s.get("name") is None and s.get("kind") == "pyspark" and s["state"] == "starting" for s in sessions)


def test_oversized_bodies_get_413(livy_server: RunningServer, tmp_path) -> None:
    server = start_server(port=0, master="local[1]", log_path=tmp_path / "small.log", extra_args=("--max-body-mb", "1"))
    try:
        api = Api(server.url)
        big = b'{"code": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        answer = api.post("/sessions/0/statements", data=big, headers={"Content-Type": "application/json"})
        assert answer.status_code == 413 and "--max-body-mb" in _message(answer)

        def chunks():  # no Content-Length: the limit holds while the body streams in
            for _ in range(40):
                yield b"x" * 65536

        answer = api.post("/sessions", data=chunks(), headers={"Content-Type": "application/json"})
        assert answer.status_code == 413
        assert api.get("/sessions").status_code == 200
    finally:
        server.stop()


def test_a_body_that_never_arrives_is_not_waited_for_forever(livy_server: RunningServer) -> None:
    parts = urlsplit(livy_server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=90) as sock:
        sock.sendall(b"POST /sessions HTTP/1.1\r\nHost: x\r\nX-Requested-By: t\r\nContent-Length: 100\r\n\r\n{")
        began = time.monotonic()
        received = b""
        while chunk := sock.recv(4096):  # the server closes the connection after answering
            received += chunk
        answer = received.decode()
    assert answer.startswith("HTTP/1.1 408") and "did not arrive" in answer
    assert time.monotonic() - began < 80


@pytest.mark.parametrize("token", [" ", "x", "short-secret", "has space in it 0123456789"])
def test_weak_shared_secrets_are_refused(token: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fabric_livy_magics.server", "serve", "--port", "0", "--host", "0.0.0.0",
         "--allow-remote", "--token", token],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "refusing the shared secret" in done.stderr and "Traceback" not in done.stderr
    if token.strip() and " " not in token:
        assert "at least 16" in done.stderr and "secrets.token_urlsafe(32)" in done.stderr
    assert len(token.strip()) < 2 or token not in done.stderr  # the secret itself is never echoed


def test_a_resent_source_id_does_not_run_twice(fabric: Api, pyspark_session: int) -> None:
    """Fabric's ``sourceId`` names one submission (the Livy shape has no such field)."""
    path = f"/sessions/{pyspark_session}/statements"
    assert fabric.run(pyspark_session, "resend_counter = 0")["output"]["status"] == "ok"
    body = {"code": "resend_counter += 1", "kind": "pyspark", "sourceId": "resend-0001"}
    first = fabric.post(path, json=body).json()
    second = fabric.post(path, json=body).json()
    assert first["id"] == second["id"]
    fabric.wait_statement(f"{path}/{first['id']}")
    result = fabric.run(pyspark_session, "print(resend_counter)")
    assert result["output"]["data"]["text/plain"].strip() == "1"
