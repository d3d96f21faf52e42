"""Keep-alive pings really move the server's idle timer.

A server of its own, started with ``--session-ttl 4``, stops any session idle for more than 4 s.
A notebook's session with a 1 s keep-alive must outlive that by far; a session nobody pings on
the same server must be stopped for being idle. Asserted on the server's view of both sessions
(GET the session), not on the keep-alive thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from fabric_livy_magics.errors import SessionNotFound
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint
from fabric_livy_magics.livy.keepalive import THREAD_NAME
from fabric_livy_magics.livy.lifecycle import ManagedSession
from fabric_livy_magics.livy.models import SessionId, SessionState
from fabric_livy_magics.livy.targets import SessionOptions
from fabric_livy_magics.server.launcher import RunningServer, start_server

WS = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
LH = "9e0f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b"
TTL_SECONDS = 4
NO_UI = {"spark.ui.enabled": "false"}


@pytest.fixture(scope="module")
def ttl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    log_path = tmp_path_factory.mktemp("ttl-server") / "server.log"
    server = start_server(port=0, master="local[1]", log_path=log_path,
                          extra_args=("--session-ttl", str(TTL_SECONDS)))
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_keep_alive_pings_move_the_servers_idle_timer(ttl_server: RunningServer) -> None:
    # Fabric shape: its reset-timeout is what the keep-alive sends (a GET does not count as activity).
    # Other tests' notebook sessions may have keep-alive threads of their own: only new ones count.
    before = {t for t in threading.enumerate() if t.name == THREAD_NAME}
    with LivyClient(FabricEndpoint(WS, LH, base_url=ttl_server.url), timeout=(5, 60)) as client:
        left = client.create_session(name="left-idle", conf=NO_UI)
        kept = ManagedSession(client, SessionOptions(name="kept-alive", conf=NO_UI),
                              keepalive_interval=1.0, start_timeout=180)
        try:
            target = kept.ensure()  # starts while "left-idle" starts too
            time.sleep(3 * TTL_SECONDS)
            assert client.get_session(target.session_id).state is SessionState.IDLE
            assert kept.run("21 * 2", quiet=True).output.text == "42"
            assert _stopped_for_being_idle(client, left.id)
        finally:
            kept.stop(force=True)
            client.delete_session(left.id, missing_ok=True)
    assert not [t for t in threading.enumerate() if t.name == THREAD_NAME and t not in before]


def _stopped_for_being_idle(client: LivyClient, session_id: SessionId) -> bool:
    """The server ended the session and says the ttl did it (404 if it already forgot it)."""
    try:
        session = client.get_session(session_id)
    except SessionNotFound:
        return True
    return session.has_ended and any("ttl" in line for line in session.log)
