"""No wait is silent or endless: Retry-After is capped and said, a statement answered without a
state ends in an error, and non-finite numbers are refused wherever a person can type one.
Answers no real server gives on purpose come from pytest-httpserver."""

from __future__ import annotations

import time
from typing import Any

import pytest
from IPython.core.error import UsageError

from fabric_livy_magics.errors import MalformedResponse, Throttled
from fabric_livy_magics.livy import running
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import LivyEndpoint
from fabric_livy_magics.livy.settings import env_float, env_int


def test_a_huge_retry_after_is_capped_and_said(httpserver: Any) -> None:
    httpserver.expect_request("/sessions/1/statements", method="POST").respond_with_json(
        {"msg": "slow down"}, status=429, headers={"Retry-After": "99999"})
    client = LivyClient(LivyEndpoint(httpserver.url_for("/")), max_retry_after=0.5, throttle_retries=2)
    said: list[tuple[str, float]] = []
    client.http.on_wait = lambda text, seconds: said.append((text, seconds))
    client.submission.remember(client._target(1), [])  # no baseline listing needed
    began = time.monotonic()
    try:
        with pytest.raises(Throttled):
            client.create_statement(1, "1")
    finally:
        client.close()
    assert time.monotonic() - began < 5
    assert len(said) == 2 and all(seconds == 0.5 for _, seconds in said)
    assert all(text.startswith("server busy (HTTP 429): retrying in") for text, _ in said)


def test_a_statement_without_a_state_is_not_polled_forever(httpserver: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(running, "UNKNOWN_STATE_SECONDS", 1.0)
    httpserver.expect_request("/sessions/1/statements/0").respond_with_json({"id": 0, "code": "1"})
    client = LivyClient(LivyEndpoint(httpserver.url_for("/")))
    began = time.monotonic()
    try:
        with pytest.raises(MalformedResponse, match="without a state"):
            client.wait_for_statement(1, 0)
    finally:
        client.close()
    assert time.monotonic() - began < 10


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "1e400", "NaN"])
def test_non_finite_settings_fall_back_to_the_default(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FABRIC_LIVY_MAXROWS", raw)
    assert env_int(("FABRIC_LIVY_MAXROWS",), 2500) == 2500
    assert env_float(("FABRIC_LIVY_MAXROWS",), 1.5) == 1.5


@pytest.mark.parametrize("value", ["nan", "inf", "1e400"])
def test_non_finite_timeout_option_is_a_usage_error(value: str) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "fabric_livy_magics")
    with pytest.raises(UsageError, match="finite number of seconds"):
        shell.run_cell_magic("livy", f"--timeout {value}", "1")


def test_a_server_that_never_answers_ends_in_one_line_within_the_bound() -> None:
    """The connection is accepted and nothing ever comes back: the submit times out, the listings
    that would settle it time out too, and the cell ends in one line saying it may have run."""
    import socket
    import threading

    from fabric_livy_magics.errors import LivyConnectionError

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # read nothing, answer nothing
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    client = LivyClient(LivyEndpoint(f"http://127.0.0.1:{listener.getsockname()[1]}"), timeout=(1, 1),
                        backoff_factor=0.01)
    client.submission.unknown_bound = 2.0
    client.submission.remember(client._target(1), [])
    began = time.monotonic()
    try:
        with pytest.raises(LivyConnectionError) as info:
            client.create_statement(1, "1")
    finally:
        client.close()
        stop.set()
        thread.join(5)
        for sock in accepted:
            sock.close()
        listener.close()
    assert "may have run" in str(info.value) and "\n" not in str(info.value)
    assert time.monotonic() - began < 30
