"""Faults between client and the real local server, injected by a loopback proxy.

Every statement here appends a unique token to the remote list ``_runs``; afterwards the test
asks the session how often the token is in it. Exactly once means: the fault was survived, the
code was not lost, and it did not run twice. The proxy's own record proves the fault fired.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest

from faultproxy import Fault, FaultProxy

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint
from fabric_livy_magics.errors import LivyConnectionError, SessionNotFound, Throttled

from client_ids import LH, WS

STATEMENTS = r"/statements$"
ONE_STATEMENT = r"/statements/\d+$"


@pytest.fixture(params=["livy", "fabric"])
def through_proxy(request, faults: FaultProxy, shared_session):
    """(client via the proxy, session id) in one URL shape; short timeouts so faults are quick."""
    if request.param == "livy":
        endpoint, sid = LivyEndpoint(faults.url), shared_session.livy_id
    else:
        endpoint, sid = FabricEndpoint(WS, LH, base_url=faults.url), shared_session.guid
    client = LivyClient(endpoint, timeout=(2, 3), backoff_factor=0.05)
    yield client, sid
    client.close()


def _token() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


def _append(client: LivyClient, sid, token: str) -> str:
    statement = client.run_statement(sid, f"_runs.append({token!r}); {token!r}", kind="pyspark")
    return statement.output.text


def _runs_of(livy_client: LivyClient, shared_session, token: str) -> int:
    out = livy_client.run_statement(shared_session.livy_id, f"_runs.count({token!r})").output.text
    return int(out)


@pytest.mark.parametrize("status, headers", [
    (429, {"Retry-After": "1"}),
    (430, {"Retry-After": "1"}),
    (503, {"Retry-After": "1"}),
    (503, {}),
    (502, {}),
])
def test_refused_statement_post_is_resent_once_server_accepts(through_proxy, faults, livy_client,
                                                              shared_session, status, headers):
    client, sid = through_proxy
    faults.add(Fault("POST", STATEMENTS, "status", status=status, headers=headers,
                     body=b'{"errorCode": "Busy", "message": "try later"}'))
    token = _token()
    began = time.monotonic()
    assert _append(client, sid, token) == repr(token)
    if "Retry-After" in headers:
        assert time.monotonic() - began >= 0.9  # Retry-After was honoured
    assert faults.count("POST", STATEMENTS, forwarded=False) == 1
    assert _runs_of(livy_client, shared_session, token) == 1


@pytest.mark.parametrize("action", ["drop_after", "status_after"])
def test_post_that_reached_the_server_is_adopted_not_resent(through_proxy, faults, livy_client,
                                                            shared_session, action):
    client, sid = through_proxy
    faults.add(Fault("POST", STATEMENTS, action, status=503))
    token = _token()
    assert _append(client, sid, token) == repr(token)
    assert faults.count("POST", STATEMENTS) == 1  # forwarded exactly once, never resent
    assert _runs_of(livy_client, shared_session, token) == 1


def test_connection_dropped_before_forwarding_is_resent(through_proxy, faults, livy_client,
                                                        shared_session):
    client, sid = through_proxy
    faults.add(Fault("POST", STATEMENTS, "drop_before"))
    token = _token()
    assert _append(client, sid, token) == repr(token)
    assert faults.count("POST", STATEMENTS, forwarded=False) == 1
    assert faults.count("POST", STATEMENTS) == 1
    assert _runs_of(livy_client, shared_session, token) == 1


def test_answer_slower_than_read_timeout_is_resolved_by_listing(through_proxy, faults, livy_client,
                                                                shared_session):
    client, sid = through_proxy
    faults.add(Fault("POST", STATEMENTS, "delay", delay=4.0))  # read timeout is 3 s
    token = _token()
    assert _append(client, sid, token) == repr(token)
    assert faults.count("POST", STATEMENTS) == 1
    assert _runs_of(livy_client, shared_session, token) == 1


def test_repeated_ambiguous_failures_give_up_with_a_clear_error(through_proxy, faults, livy_client,
                                                                shared_session):
    client, sid = through_proxy
    faults.add(Fault("POST", STATEMENTS, "drop_before", times=3))
    token = _token()
    with pytest.raises(LivyConnectionError, match="did not run"):
        _append(client, sid, token)
    assert _runs_of(livy_client, shared_session, token) == 0


@pytest.mark.parametrize("fault", [
    Fault("GET", ONE_STATEMENT, "status", status=429, headers={"Retry-After": "1"}),
    Fault("GET", ONE_STATEMENT, "status", status=430, headers={"Retry-After": "1"}),
    Fault("GET", ONE_STATEMENT, "status", status=503, times=2),
    Fault("GET", ONE_STATEMENT, "status", status=504),
    Fault("GET", ONE_STATEMENT, "drop_before", times=2),
    Fault("GET", ONE_STATEMENT, "drop_after"),
    Fault("GET", ONE_STATEMENT, "delay", delay=1.0),
], ids=lambda f: f"{f.action}-{f.status if 'status' in f.action else ''}")
def test_polling_survives_faults(through_proxy, faults, livy_client, shared_session, fault):
    client, sid = through_proxy
    faults.add(Fault(**{**fault.__dict__}))
    token = _token()
    assert _append(client, sid, token) == repr(token)
    assert _runs_of(livy_client, shared_session, token) == 1


def test_persistent_throttling_ends_in_a_clear_error(through_proxy, faults):
    client, sid = through_proxy
    faults.add(Fault("GET", r"/sessions/[^/]+$", "status", status=430, headers={"Retry-After": "0"},
                     times=20, body=b'{"errorCode": "TooManyRequestsForCapacity", "message": "x", "requestId": "r-1"}'))
    with pytest.raises(Throttled, match="capacity is busy") as info:
        client.get_session(sid)
    assert info.value.request_id == "r-1"
    faults.clear()  # the fault outlives the retries on purpose


def test_session_delete_survives_a_503(through_proxy, faults, livy_client):
    client, _ = through_proxy
    faults.add(Fault("DELETE", r"/sessions/", "status", status=503))
    missing = 123456 if isinstance(client.endpoint, LivyEndpoint) else str(uuid.uuid4())
    with pytest.raises(SessionNotFound):  # a 404 from the server itself: the retry reached it
        client.delete_session(missing)
    assert faults.count("DELETE", r"/sessions/", forwarded=False) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_nothing_listening_is_a_clear_connection_error():
    client = LivyClient(LivyEndpoint(f"http://127.0.0.1:{_free_port()}"), timeout=(1, 2),
                        backoff_factor=0.01)
    with pytest.raises(LivyConnectionError, match="Could not reach"):
        client.create_statement(1, "1")


def test_refused_connections_are_retried_until_the_server_appears(livy_server, livy_client,
                                                                  shared_session):
    port = _free_port()
    started: list[FaultProxy] = []
    timer = threading.Timer(0.5, lambda: started.append(FaultProxy(livy_server.url, port=port).start()))
    timer.start()
    try:
        client = LivyClient(LivyEndpoint(f"http://127.0.0.1:{port}"), backoff_factor=0.2)
        token = _token()
        assert _append(client, shared_session.livy_id, token) == repr(token)
        assert _runs_of(livy_client, shared_session, token) == 1
    finally:
        timer.join()
        for proxy in started:
            proxy.stop()
