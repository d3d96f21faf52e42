"""The server's edge, tried as a hostile client over loopback: cross-site posts (CSRF), web pages of
other origins and re-pointed names (DNS rebinding), oversized, slow and never-finished requests,
weak shared secrets. Each case gets the right answer with a one-line message in the caller's shape."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from server_api import LAKEHOUSE, WORKSPACE, Api

from fabric_livy_magics.server.config import TOKEN_ENV
from fabric_livy_magics.server.launcher import RunningServer, start_server
from tests.secret_scan import register_log_file, register_secret

SHAPES = ["livy", "fabric"]
TOKEN = "edge-test-token-0123456789abcdef"


def _base(server: RunningServer, shape: str) -> str:
    return server.url if shape == "livy" else server.fabric_url(WORKSPACE, LAKEHOUSE)


def _message(answer: requests.Response) -> str:
    body = answer.json()
    return body.get("msg") or body.get("message") or ""


def _raw(server: RunningServer, data: bytes, timeout: float = 30) -> tuple[bytes, float]:
    """Send ``data`` on a new connection; (everything received until the server closes it, seconds)."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        began = time.monotonic()
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received, time.monotonic() - began


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server with small bounds: 1 MB bodies, due within 2 s, headers within 1 s."""
    log = tmp_path_factory.mktemp("edge") / "server.log"
    server = start_server(port=0, master="local[1]", log_path=log,
                          extra_args=("--max-body-mb", "1", "--body-timeout", "2", "--header-timeout", "1"))
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("shape", SHAPES)
def test_cross_site_posts_without_x_requested_by_are_refused(livy_server: RunningServer, shape: str) -> None:
    base = _base(livy_server, shape)
    # What a web page on any origin can make a browser send without a preflight: a text/plain form post.
    for method, path in (("POST", "/sessions"), ("POST", "/batches"), ("DELETE", "/sessions/0"),
                         ("POST", "/sessions/0/statements"), ("PUT", "/sessions"), ("PATCH", "/sessions/0")):
        answer = requests.request(method, base + path, data='{"kind": "pyspark"}', timeout=10,
                                  headers={"Content-Type": "text/plain", "Origin": "https://evil.example"})
        assert answer.status_code == 400, answer.text
        assert _message(answer).startswith("Missing Required Header for CSRF protection: send 'X-Requested-By")
        if shape == "fabric":
            assert answer.json()["errorCode"] == "MissingCsrfHeader" and answer.json()["requestId"]
    basic = requests.post(base + "/sessions", json={}, headers={"Authorization": "Basic eDp5"}, timeout=10)
    assert basic.status_code == 400 and "CSRF" in _message(basic)  # a browser may add Basic credentials itself
    assert requests.get(base + "/sessions", timeout=10).status_code == 200  # reads need no header
    # A Fabric client's bearer token passes the rule too (a page cannot set one cross-site).
    answer = requests.post(base + "/sessions/%C2%B2/statements", json={"code": "1"}, timeout=10,
                           headers={"Authorization": "Bearer any"})
    assert answer.status_code == 404
    sessions = requests.get(livy_server.url + "/sessions", timeout=10).json()["sessions"]
    assert not any(s.get("name") is None and s.get("kind") == "pyspark" and s["state"] == "starting" for s in sessions)


@pytest.mark.parametrize("shape", SHAPES)
def test_pages_of_other_origins_are_refused(livy_server: RunningServer, shape: str) -> None:
    api = Api(_base(livy_server, shape))
    for origin in ("https://evil.example", "http://127.0.0.1.evil.example:8998", "null"):
        answer = api.post("/sessions/%C2%B2/statements", json={"code": "1"}, headers={"Origin": origin})
        assert answer.status_code == 403, answer.text
        assert _message(answer).startswith(f"Requests from web pages of origin '{origin}' are refused")
    for origin in ("http://localhost:8888", "http://127.0.0.1:8998", "http://[::1]:8888"):  # Jupyter, say
        answer = api.post("/sessions/%C2%B2/statements", json={"code": "1"}, headers={"Origin": origin})
        assert answer.status_code == 404, answer.text


@pytest.mark.parametrize("shape", SHAPES)
def test_a_non_loopback_host_header_is_refused(livy_server: RunningServer, shape: str) -> None:
    """A page at evil.example whose name now resolves to 127.0.0.1 is same-origin with the server:
    its requests carry ``Host: evil.example:<port>`` (DNS rebinding), reads included."""
    api = Api(_base(livy_server, shape))
    port = urlsplit(livy_server.url).port
    for host in (f"evil.example:{port}", "127.0.0.1.nip.io", "10.0.0.1"):
        answer = api.get("/sessions", headers={"Host": host})
        assert answer.status_code == 403, answer.text
        assert _message(answer).startswith(f"Host '{host}' is not a loopback name")
        if shape == "fabric":
            assert answer.json()["errorCode"] == "Forbidden"
    for host in (f"localhost:{port}", f"127.0.0.2:{port}", f"[::1]:{port}", "LOCALHOST"):
        assert api.get("/sessions", headers={"Host": host}).status_code == 200


def test_a_token_server_takes_its_token_from_any_origin(tmp_path: Path) -> None:
    """With --token the token alone decides: it cannot be known to a page, so Host and Origin pass."""
    register_secret(TOKEN)
    register_log_file(tmp_path / "server.log")
    server = start_server(port=0, token=TOKEN, log_path=tmp_path / "server.log")
    try:
        api = Api(server.url, token=TOKEN)
        answer = api.get("/sessions", headers={"Host": "fabric-livy.example", "Origin": "https://notebooks.example"})
        assert answer.status_code == 200, answer.text
        lower = api.get("/sessions", headers={"Authorization": f"bearer {TOKEN}"})
        assert lower.status_code == 200  # the scheme is case-insensitive (RFC 9110)
        wrong = api.get("/sessions", headers={"Authorization": f"Basic {TOKEN}"})
        assert wrong.status_code == 401 and "bearer token" in _message(wrong)
    finally:
        server.stop()


@pytest.mark.parametrize("shape", SHAPES)
def test_oversized_bodies_get_413(edge_server: RunningServer, shape: str) -> None:
    api = Api(_base(edge_server, shape))
    big = b'{"code": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    answer = api.post("/sessions/0/statements", data=big, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert _message(answer) == ("The request body is larger than this server accepts (1 MB; "
                                "fabric-livy serve --max-body-mb raises it).")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while the body streams in
        for _ in range(40):
            yield b"x" * 65536

    answer = api.post("/sessions", data=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and "--max-body-mb" in _message(answer)
    assert api.get("/sessions").status_code == 200


def test_a_body_that_never_arrives_gets_408(edge_server: RunningServer) -> None:
    received, seconds = _raw(edge_server, b"POST /sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Requested-By: t\r\n"
                                          b"Content-Length: 100\r\n\r\n{")
    assert received.startswith(b"HTTP/1.1 408")
    assert received.endswith(b'{"msg": "The request body did not arrive within 2 s."}')
    assert 1.5 < seconds < 20
    chunked, _ = _raw(edge_server, b"POST /sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Requested-By: t\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n")
    assert chunked.startswith(b"HTTP/1.1 408")


def test_headers_that_never_finish_close_the_connection(edge_server: RunningServer) -> None:
    for partial in (b"", b"G", b"GET /sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n"):
        received, seconds = _raw(edge_server, partial)
        assert received == b"" and 0.5 < seconds < 20, (partial, received)
    parts = urlsplit(edge_server.url)
    began = time.monotonic()
    closed = False
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:  # one byte at a time
        for byte in b"GET /sessions HTTP/1.1\r\nX-Padding: slow\r\n" * 100:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            if select.select([sock], [], [], 0)[0] and sock.recv(1, socket.MSG_PEEK) == b"":
                closed = True
                break
            time.sleep(0.05)
    assert closed and time.monotonic() - began < 20
    assert Api(edge_server.url).get("/sessions").status_code == 200  # the server itself carries on


@pytest.mark.parametrize("token", [" ", "x", "short-secret", "has space in it 0123456789", "é" * 20])
def test_weak_shared_secrets_are_refused(token: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fabric_livy_magics.server", "serve", "--port", "0", "--host", "0.0.0.0",
         "--allow-remote", "--token", token],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "refusing the shared secret" in done.stderr and "Traceback" not in done.stderr
    if token.strip() and " " not in token and token.isascii():
        assert "at least 16" in done.stderr and "secrets.token_urlsafe(32)" in done.stderr
    assert len(token.strip()) < 2 or token not in done.stderr  # the secret itself is never echoed


@pytest.mark.parametrize("token", ["", "   ", "0123456789"])
def test_weak_secrets_from_the_environment_are_refused(token: str) -> None:
    env = {**os.environ, TOKEN_ENV: token}
    done = subprocess.run([sys.executable, "-m", "fabric_livy_magics.server", "serve", "--port", "0"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2, done.stderr
    assert f"refusing the shared secret (--token or {TOKEN_ENV})" in done.stderr
    assert "secrets.token_urlsafe(32)" in done.stderr and "\n" not in done.stderr.strip()
