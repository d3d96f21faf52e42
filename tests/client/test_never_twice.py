"""The never-twice rule at its edges (``statement_submit.py``), through the fault proxy in front
of the real server: an answer lost while the listings that would resolve it fail too, listings
that never recover, and a submit held in the network past the read timeout and delivered late.
Each statement appends a token to the remote ``_runs``; the remote count is the truth."""

from __future__ import annotations

import time
import uuid

import pytest

from faultproxy import Fault, FaultProxy

from fabric_livy_magics.errors import LivyConnectionError
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint

from client_ids import LH, WS

STATEMENTS = r"/statements$"


def _client(shape: str, faults: FaultProxy, shared_session, *, read_timeout: float = 3) -> tuple[LivyClient, object]:
    if shape == "livy":
        endpoint, sid = LivyEndpoint(faults.url), shared_session.livy_id
    else:
        endpoint, sid = FabricEndpoint(WS, LH, base_url=faults.url), shared_session.guid
    return LivyClient(endpoint, timeout=(2, read_timeout), backoff_factor=0.05), sid


def _runs_of(livy_client: LivyClient, shared_session, token: str) -> int:
    return int(livy_client.run_statement(shared_session.livy_id, f"_runs.count({token!r})").output.text)


@pytest.mark.parametrize("shape", ["livy", "fabric"])
def test_failed_listings_mean_unknown_not_absent(shape: str, faults: FaultProxy, shared_session,
                                                 livy_client: LivyClient) -> None:
    """The answer is lost and the listings fail for about 3 s: the client keeps asking, finds its
    statement, and does not send it again."""
    client, sid = _client(shape, faults, shared_session)
    token = f"t{uuid.uuid4().hex[:12]}"
    if shape == "livy":  # the baseline listing before the first submit of this client
        client.list_statements(sid)
    faults.add(Fault("POST", STATEMENTS, "drop_after"))
    faults.add(Fault("GET", STATEMENTS, "drop_before", times=6))
    began = time.monotonic()
    try:
        statement = client.run_statement(sid, f"_runs.append({token!r}); {token!r}", kind="pyspark")
    finally:
        client.close()
    assert statement.output.text.strip("'") == token
    assert faults.count("POST", STATEMENTS) == 1  # sent once, never resent
    assert faults.count("GET", STATEMENTS, forwarded=False) == 6
    assert _runs_of(livy_client, shared_session, token) == 1
    assert time.monotonic() - began < 20


def test_listings_that_never_recover_end_in_may_have_run(faults: FaultProxy, shared_session,
                                                          livy_client: LivyClient) -> None:
    client, sid = _client("fabric", faults, shared_session)
    client.submission.unknown_bound = 2.0
    token = f"t{uuid.uuid4().hex[:12]}"
    faults.add(Fault("POST", STATEMENTS, "drop_after"))
    faults.add(Fault("GET", STATEMENTS, "status", status=503, times=1000))
    began = time.monotonic()
    try:
        with pytest.raises(LivyConnectionError) as info:
            client.create_statement(sid, f"_runs.append({token!r})", kind="pyspark")
    finally:
        client.close()
        faults.clear()
    message = str(info.value)
    assert "may have run" in message and "%livy status" in message and "\n" not in message
    assert time.monotonic() - began < 15  # the bound, plus the retries of each listing
    assert faults.count("POST", STATEMENTS) <= 1
    time.sleep(1)
    assert _runs_of(livy_client, shared_session, token) == 1  # it had run: the error said it may have


def test_a_submit_held_past_the_read_timeout_runs_once(faults: FaultProxy, shared_session,
                                                        livy_client: LivyClient) -> None:
    """Held 4 s, read timeout 2 s: the client resends with the same sourceId, and the late
    original is recognised by the server as a duplicate (Fabric's sourceId)."""
    client, sid = _client("fabric", faults, shared_session, read_timeout=2)
    token = f"t{uuid.uuid4().hex[:12]}"
    faults.add(Fault("POST", STATEMENTS, "hold", delay=4.0))
    try:
        statement = client.run_statement(sid, f"_runs.append({token!r}); {token!r}", kind="pyspark")
    finally:
        client.close()
    assert statement.output.text.strip("'") == token
    time.sleep(3)  # the held original has reached the server by now
    assert faults.count("POST", STATEMENTS) == 2  # the resend and the late original both arrived
    assert _runs_of(livy_client, shared_session, token) == 1
