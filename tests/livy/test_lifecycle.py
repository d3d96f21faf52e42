"""The one session lifecycle (``livy/lifecycle.py`` over ``starting.py`` and ``running.py``),
against the real local server: start phases, a statement cancelled, keep-alive that really moves
the server's idle timer, and a session that dies under a running statement."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fabric_livy_magics.errors import SessionDead, SessionNotFound, StatementCancelled
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.lifecycle import ManagedSession
from fabric_livy_magics.livy.models import Session, SessionState, StatementState
from fabric_livy_magics.livy.models.high_concurrency import HighConcurrencySession
from fabric_livy_magics.livy.targets import SessionOptions
from fabric_livy_magics.server.process import find_session_process


class RecordingProgress:
    """A progress display that keeps every update (the states a person would have seen)."""

    def __init__(self, label: str, seen: list[tuple[str, str | None]]) -> None:
        self.label = label
        self.seen = seen

    def update(self, fraction: float | None = None, state: str | None = None, *, force: bool = False) -> None:
        self.seen.append((self.label, state))

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def managed(fabric_client: LivyClient) -> Iterator[tuple[ManagedSession, list[tuple[str, str | None]]]]:
    seen: list[tuple[str, str | None]] = []
    session = ManagedSession(fabric_client, SessionOptions(name=f"lifecycle-{uuid.uuid4().hex[:6]}"),
                             start_timeout=180, keepalive_interval=0,
                             progress=lambda label: RecordingProgress(label, seen))
    try:
        yield session, seen
    finally:
        session.close()


def test_start_reports_each_phase_in_order_and_ends_idle(managed: Any) -> None:
    session, seen = managed
    target = session.ensure()
    phases = [state for label, state in seen if label == "Starting Spark session"]
    assert phases, "the start display saw no update"
    distinct = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
    assert distinct[-1] == "idle" and len(distinct) >= 2, distinct
    # Fabric's acquisition phase, in words, before the session is idle (the local server passes
    # through acquiringSession while its Spark process starts).
    assert distinct[0] in {"queued (waiting for capacity)", "acquiring a Spark session", "starting Spark"}, distinct
    assert len(distinct) == len(set(distinct)), f"a phase came back: {distinct}"
    assert session.client.get_session(target.session_id).state is SessionState.IDLE


def test_ctrl_c_cancels_the_statement_on_the_server(managed: Any) -> None:
    session, _ = managed
    target = session.ensure()
    main = threading.main_thread()
    timer = threading.Timer(3.0, lambda: _interrupt(main))
    timer.start()
    try:
        with pytest.raises(StatementCancelled, match="cancelled on the server"):
            session.run("import time\nfor _ in range(600):\n    time.sleep(0.1)", quiet=True)
    finally:
        timer.cancel()
    last = session.client.list_statements(target)[-1]
    assert last.state is StatementState.CANCELLED
    assert session.run("1 + 1", quiet=True).output.text == "2"  # the session carries on


def _interrupt(thread: threading.Thread) -> None:
    import _thread

    if thread.is_alive():
        _thread.interrupt_main()


def test_cancel_command_stops_the_running_statement(managed: Any) -> None:
    session, _ = managed
    target = session.ensure()
    finished: list[Any] = []
    runner = threading.Thread(target=lambda: finished.append(
        session.run("import time\nfor _ in range(600):\n    time.sleep(0.1)", quiet=True)))
    runner.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        statements = session.client.list_statements(target)
        if statements and statements[-1].state is StatementState.RUNNING:
            break
        time.sleep(0.1)
    assert session.cancel() is not None
    runner.join(timeout=60)
    assert not runner.is_alive() and finished
    assert finished[0].state is StatementState.CANCELLED


@pytest.mark.slow
def test_keep_alive_moves_the_servers_idle_timer(fabric_client: LivyClient) -> None:
    """Two sessions with a 4 s idle TTL: the one the keep-alive pings outlives it; the other
    is stopped by the server. Asserted on the server's view of both sessions."""
    ttl = {"ttl": "4s"}
    kept = fabric_client.create_session(name="kept-alive", extra=ttl)
    left = fabric_client.create_session(name="left-idle", extra=ttl)
    managed = ManagedSession(fabric_client, SessionOptions(), keepalive_interval=1.0, start_timeout=180)
    try:
        fabric_client.wait_for_session(left.id, timeout=180)
        managed.attach(kept.id)  # waits until idle, then pings every second while idle
        time.sleep(12)  # three TTLs
        assert fabric_client.get_session(kept.id).state is SessionState.IDLE
        assert _ended(fabric_client, left.id), "the session nobody pinged should have been stopped"
        assert managed.run("21 * 2", quiet=True).output.text == "42"
    finally:
        managed.stop(force=True)
        fabric_client.delete_session(left.id, missing_ok=True)


def _ended(client: LivyClient, session_id: Any) -> bool:
    try:
        return client.get_session(session_id).has_ended
    except SessionNotFound:
        return True


@pytest.mark.slow
def test_death_during_a_statement_is_one_line_and_the_next_run_makes_no_call(
        livy_server: Any, fabric_client: LivyClient) -> None:
    session = ManagedSession(fabric_client, SessionOptions(name="doomed"), start_timeout=180, keepalive_interval=0)
    target = session.ensure()
    livy_id = next(s.id for s in _livy_view(livy_server) if s.name == "doomed" and not s.has_ended)
    process = find_session_process(livy_server.pid, livy_id)
    assert process is not None
    threading.Timer(2.0, process.kill).start()
    with pytest.raises(SessionDead) as info:
        session.run("import time\ntime.sleep(60)", quiet=True)
    message = str(info.value)
    assert "\n" not in message and "%livy restart" in message
    calls_before = _requests_made(session.client)
    with pytest.raises(SessionDead):
        session.run("1", quiet=True)
    assert _requests_made(session.client) == calls_before  # known dead: no remote call
    session.stop(force=True)
    assert target is not None


def _livy_view(livy_server: Any) -> list[Session]:
    with LivyClient(livy_server.url) as client:
        return list(client.iter_sessions())


def _requests_made(client: LivyClient) -> int:
    """Requests the client's connection pool has sent (urllib3 counts them per pool)."""
    pools = client.http._http.adapters["http://"].poolmanager.pools
    return sum(pool.num_requests for pool in pools._container.values())


def test_one_definition_of_ended() -> None:
    url = "http://x/sessions/1"
    for state, ended in (("dead", True), ("killed", True), ("shutting_down", True), ("success", True),
                         ("error", False), ("idle", False), ("busy", False), ("starting", False)):
        assert Session.from_json({"id": 1, "state": state}, url).has_ended is ended, state
    hc = {"id": "h", "sessionId": "s", "replId": "r"}
    for state, ended in (("Dead", True), ("Killed", True), ("Deleting", True), ("Failed", False), ("Idle", False)):
        assert HighConcurrencySession.from_json({**hc, "state": state}, url).has_ended is ended, state
