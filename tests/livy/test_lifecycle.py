"""The one session lifecycle (``livy/lifecycle.py`` over ``starting.py`` and ``running.py``),
against the real local server: start phases in both URL shapes, statements cancelled (Ctrl-C and
``cancel``), and a session that dies under a running statement. Keep-alive is in
``test_keepalive.py``; pure checks of the one "ended" definition are at the end."""

from __future__ import annotations

import re

import _thread
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fabric_livy_magics.errors import SessionDead, SessionFailed, StatementCancelled
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.lifecycle import ManagedSession
from fabric_livy_magics.livy.models import Session, SessionState, StatementState
from fabric_livy_magics.livy.models.high_concurrency import HighConcurrencySession
from fabric_livy_magics.livy.starting import start_failure
from fabric_livy_magics.livy.targets import SessionOptions
from fabric_livy_magics.server.process import find_session_process

#: The local server's Spark UI is not needed here; skipping it starts sessions a little faster.
NO_UI = {"spark.ui.enabled": "false"}
START_LABEL = "Starting Spark session"
#: What the start display may say first (``starting.phase_text``): Fabric's acquisition phase or
#: Livy's own not_started/starting, in words.
FIRST_PHASES = {"queued", "queued (waiting for capacity)", "acquiring a Spark session", "starting Spark"}
#: Minutes of Spark work in 2000 short tasks, so progress shows within seconds.
LONG_SPARK_JOB = "spark.range(0, 10**12, 1, 2000).selectExpr('max(id)').collect()"
LONG_PYTHON = "import time\nfor _ in range(600):\n    time.sleep(0.1)"

Seen = list[tuple[str, "str | None"]]


class RecordingProgress:
    """A progress display that keeps every update (the states a person would have seen)."""

    def __init__(self, label: str, seen: Seen) -> None:
        self.label = label
        self.seen = seen

    def update(self, fraction: float | None = None, state: str | None = None, *, force: bool = False) -> None:
        self.seen.append((self.label, state))

    def close(self) -> None:
        pass


def _managed(client: LivyClient, name: str, seen: Seen) -> ManagedSession:
    return ManagedSession(client, SessionOptions(name=f"{name}-{uuid.uuid4().hex[:6]}", conf=NO_UI),
                          start_timeout=180, keepalive_interval=0,
                          progress=lambda label: RecordingProgress(label, seen))


@pytest.fixture(scope="module")
def fabric_managed(fabric_client: LivyClient) -> Iterator[tuple[ManagedSession, Seen]]:
    """A notebook's session through the Fabric URL shape (start phases, then the cancel tests)."""
    seen: Seen = []
    session = _managed(fabric_client, "lifecycle", seen)
    try:
        yield session, seen
    finally:
        session.close()


@pytest.fixture(scope="module")
def livy_managed(livy_client: LivyClient) -> Iterator[tuple[ManagedSession, Seen]]:
    """A notebook's session through the Livy URL shape (start phases, then killed under a statement)."""
    seen: Seen = []
    session = _managed(livy_client, "doomed", seen)
    try:
        yield session, seen
    finally:
        session.stop(force=True)


def _assert_start_phases(session: ManagedSession, seen: Seen) -> None:
    target = session.ensure()
    # "starting Spark 3 s", then "queued 2 s · starting 9 s · idle 0 s": the phase is the last
    # part, without its seconds
    phases = [re.sub(r"\s+\d+ s$", "", state.split(" · ")[-1]) for label, state in seen if label == START_LABEL]
    distinct = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
    assert len(distinct) >= 2 and distinct[-1] == "idle", distinct
    assert distinct[0] in FIRST_PHASES, distinct
    assert len(distinct) == len(set(distinct)), f"a phase came back: {distinct}"
    assert session.client.get_session(target.session_id).state is SessionState.IDLE


def test_start_reports_each_phase_in_order_and_ends_idle_fabric_shape(fabric_managed: Any) -> None:
    _assert_start_phases(*fabric_managed)


def test_start_reports_each_phase_in_order_and_ends_idle_livy_shape(livy_managed: Any) -> None:
    _assert_start_phases(*livy_managed)


def test_ctrl_c_cancels_the_spark_job_on_the_server(fabric_managed: Any) -> None:
    session, _ = fabric_managed
    target = session.ensure()
    main = threading.main_thread()

    def interrupt_once_tasks_ran() -> None:
        # Ctrl-C once the job's tasks are under way, as a person would (a cancel that reaches
        # the server before Spark has the job is the server's race, not the lifecycle's).
        with LivyClient(session.client.endpoint) as watcher:
            _wait_for_running(watcher, target, progressed=True)
        if main.is_alive():
            _thread.interrupt_main()

    interrupter = threading.Thread(target=interrupt_once_tasks_ran, daemon=True)
    interrupter.start()
    with pytest.raises(StatementCancelled, match="cancelled on the server"):
        session.run(LONG_SPARK_JOB, quiet=True)
    interrupter.join(timeout=10)
    assert _final_state(session.client, target) is StatementState.CANCELLED
    assert session.run("1 + 1", quiet=True).output.text == "2"  # the session carries on


def test_cancel_stops_the_running_statement(fabric_managed: Any) -> None:
    session, _ = fabric_managed
    target = session.ensure()
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(session.run(LONG_PYTHON, quiet=True))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            outcome.append(exc)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    try:
        _wait_for_running(session.client, target)
        assert session.cancel() is not None
    finally:
        runner.join(timeout=60)
    assert not runner.is_alive() and outcome
    assert getattr(outcome[0], "state", outcome[0]) is StatementState.CANCELLED
    assert _final_state(session.client, target) is StatementState.CANCELLED


def _wait_for_running(client: LivyClient, target: Any, *, progressed: bool = False,
                      timeout: float = 60) -> None:
    """Until the target's last statement runs (``progressed``: and Spark finished some task)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statements = client.list_statements(target)
        if statements and statements[-1].state is StatementState.RUNNING and (
                not progressed or (statements[-1].progress or 0) > 0):
            return
        time.sleep(0.1)
    raise AssertionError("the statement never ran")


def _final_state(client: LivyClient, target: Any, timeout: float = 30) -> StatementState:
    """The server's last word on the target's last statement (cancelling settles in a moment)."""
    deadline = time.monotonic() + timeout
    state = client.list_statements(target)[-1].state
    while state is StatementState.CANCELLING and time.monotonic() < deadline:
        time.sleep(0.2)
        state = client.list_statements(target)[-1].state
    return state


@pytest.mark.slow
def test_death_during_a_statement_is_one_line_and_the_next_run_makes_no_call(
        livy_server: Any, livy_managed: Any) -> None:
    session, _ = livy_managed
    target = session.ensure()
    process = find_session_process(livy_server.pid, int(target.session_id))
    assert process is not None

    def kill_once_running() -> None:
        with LivyClient(livy_server.url) as watcher:
            _wait_for_running(watcher, target)
        process.kill()

    killer = threading.Thread(target=kill_once_running, daemon=True)
    killer.start()
    with pytest.raises(SessionDead) as info:
        session.run("import time\ntime.sleep(60)", quiet=True)
    killer.join(timeout=10)
    message = str(info.value)
    assert "\n" not in message and "%livy restart" in message, message
    calls_before = _requests_made(session.client)
    with pytest.raises(SessionDead, match="%livy restart"):
        session.run("1", quiet=True)
    assert _requests_made(session.client) == calls_before  # known dead: no remote call


def _requests_made(client: LivyClient) -> int:
    """Requests the client's connection pool has sent (urllib3 counts them per pool)."""
    pools = client.http._http.adapters["http://"].poolmanager.pools
    return sum(pool.num_requests for pool in pools._container.values())


# --- the one definition of "ended" (no server) ------------------------------------------------

URL = "http://x/sessions/1"
HC = {"id": "h", "sessionId": "s", "replId": "r"}


@pytest.mark.parametrize(("state", "ended"), [
    ("dead", True), ("killed", True), ("shutting_down", True), ("success", True), ("DEAD", True),
    ("error", False), ("idle", False), ("busy", False), ("starting", False), ("something-new", False)])
def test_session_has_ended_only_in_terminal_states(state: str, ended: bool) -> None:
    assert Session.from_json({"id": 1, "state": state}, URL).has_ended is ended


@pytest.mark.parametrize(("state", "ended"), [
    ("Dead", True), ("Killed", True), ("Deleting", True), ("dead", True),
    ("Failed", False), ("Idle", False), ("AcquiringHighConcurrencySession", False)])
def test_high_concurrency_session_has_ended_only_in_terminal_states(state: str, ended: bool) -> None:
    assert HighConcurrencySession.from_json({**HC, "state": state}, URL).has_ended is ended


def test_every_ended_session_has_failed_but_not_every_failed_one_ended() -> None:
    dead = Session.from_json({"id": 1, "state": "dead"}, URL)
    error = Session.from_json({"id": 1, "state": "error"}, URL)
    refused = Session.from_json(
        {"id": 1, "state": "not_started", "fabricSessionStateInfo": {"state": "error", "errorMessage": "no capacity"}}, URL)
    assert dead.has_failed and error.has_failed and refused.has_failed
    assert not error.has_ended and not refused.has_ended


def test_a_start_failure_is_session_dead_only_when_the_session_ended() -> None:
    dead = start_failure(Session.from_json({"id": 7, "state": "dead", "log": ["a", "b"]}, URL), hint="Start again.")
    assert isinstance(dead, SessionDead)
    assert str(dead).startswith("Session 7 is dead. Start again.") and dead.log == ["a", "b"]
    refused = start_failure(Session.from_json(
        {"id": 7, "state": "starting", "fabricSessionStateInfo": {"state": "cancelled", "errorMessage": "capacity"}}, URL))
    assert type(refused) is SessionFailed and "capacity" in str(refused)
    hc = start_failure(HighConcurrencySession.from_json({**HC, "state": "Killed"}, URL))
    assert isinstance(hc, SessionDead) and str(hc).startswith("High-concurrency session h is Killed")


def test_the_keyword_form_of_spark_resources_names_the_same_fields() -> None:
    """``create_session(name=..., conf=...)``, ``acquire_high_concurrency_session`` and
    ``create_batch`` take the fields of the one ``SparkResources``; the keyword form must not drift."""
    from dataclasses import fields

    from fabric_livy_magics.livy.bodies import ResourceOptions, SparkResources

    assert set(ResourceOptions.__annotations__) == {f.name for f in fields(SparkResources)}
    with pytest.raises(TypeError, match="driver_mem"):
        SparkResources.of(driver_mem="4g")
