"""Session and statement operations against the real local server, in both URL shapes.

One pyspark session (``shared_session``) serves every test here: it was created through the
Fabric shape and is addressed by its GUID there and by its integer id in the Livy shape.
"""

from __future__ import annotations

import time
import uuid

import pytest

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.errors import (
    LivyTimeout,
    SessionNotFound,
    StatementFailed,
    StatementNotFound,
)
from fabric_livy_magics.livy.models import SessionState, StatementState


@pytest.fixture(params=["livy", "fabric"])
def shape(request, livy_client, fabric_client, shared_session):
    """(client, session id) for one URL shape."""
    if request.param == "livy":
        return livy_client, shared_session.livy_id
    return fabric_client, shared_session.guid


def test_fabric_create_reports_acquisition_phases_then_idle(shared_session):
    assert shared_session.created.id == shared_session.guid
    assert shared_session.phases[-1] == "idle"
    # the local server reports Fabric's acquisition phase while Spark starts
    assert "acquiringSession" in shared_session.phases or "queued" in shared_session.phases


def test_get_session_in_both_shapes_has_the_right_id_type(livy_client, fabric_client, shared_session):
    livy = livy_client.get_session(shared_session.livy_id)
    fabric = fabric_client.get_session(shared_session.guid)
    assert livy.id == shared_session.livy_id and isinstance(livy.id, int)
    assert fabric.id == shared_session.guid and isinstance(fabric.id, str)
    assert livy.state is SessionState.IDLE and fabric.state is SessionState.IDLE
    assert fabric.livy_info.get("currentState") == "idle"


def test_run_statement_returns_text_output_and_server_timings(shape):
    client, sid = shape
    statement = client.run_statement(sid, "21 * 2", kind="pyspark")
    assert statement.state is StatementState.AVAILABLE
    assert statement.output.text == "42"
    assert statement.started and statement.completed and statement.completed >= statement.started


def test_remote_exception_raises_statement_failed_with_traceback(shape):
    client, sid = shape
    with pytest.raises(StatementFailed) as info:
        client.run_statement(sid, "1 / 0")
    assert info.value.ename == "ZeroDivisionError"
    assert "division by zero" in info.value.evalue
    # without raising, the output still carries the error
    statement = client.run_statement(sid, "1 / 0", raise_on_error=False)
    assert statement.output is not None and not statement.output.ok


def test_fabric_statement_echoes_our_source_id(fabric_client, shared_session):
    source = str(uuid.uuid4())
    created = fabric_client.create_statement(shared_session.guid, "'echo'", source_id=source)
    assert created.source_id == source
    done = fabric_client.wait_for_statement(shared_session.guid, created.id, timeout=30)
    assert done.source_id == source and done.output.text == "'echo'"


def test_list_and_get_statements(shape):
    client, sid = shape
    marker = f"'list-{uuid.uuid4().hex[:6]}'"
    done = client.run_statement(sid, marker)
    listed = {s.id: s for s in client.list_statements(sid)}
    assert listed[done.id].code == marker
    assert client.get_statement(sid, done.id).output.text == marker
    with pytest.raises(StatementNotFound):
        client.get_statement(sid, 10_000_000)


def test_on_progress_sees_the_final_state(shape):
    client, sid = shape
    seen: list[StatementState] = []
    client.run_statement(sid, "import time; time.sleep(0.3)", on_progress=lambda s: seen.append(s.state))
    assert seen[-1] is StatementState.AVAILABLE
    assert StatementState.RUNNING in seen or StatementState.WAITING in seen


def test_cancel_a_running_statement(shape):
    client, sid = shape
    statement = client.create_statement(sid, "import time\nfor _ in range(600): time.sleep(0.1)")
    deadline = time.monotonic() + 30
    while client.get_statement(sid, statement.id).state is not StatementState.RUNNING:
        assert time.monotonic() < deadline, "statement never started running"
        time.sleep(0.05)
    began = time.monotonic()
    assert client.cancel_statement(sid, statement.id)
    final = client.wait_for_statement(sid, statement.id, timeout=30)
    assert final.state is StatementState.CANCELLED
    assert time.monotonic() - began < 10
    # the session still works afterwards
    assert client.run_statement(sid, "'after cancel'").output.text == "'after cancel'"


def test_wait_for_statement_times_out_without_losing_the_statement(shape):
    client, sid = shape
    statement = client.create_statement(sid, "import time; time.sleep(3); 'slow'")
    with pytest.raises(LivyTimeout, match="still"):
        client.wait_for_statement(sid, statement.id, timeout=0.3)
    assert client.wait_for_statement(sid, statement.id, timeout=30).output.text == "'slow'"


def test_fabric_output_paging_reassembles_a_large_output(fabric_client, shared_session):
    sid = shared_session.guid
    done = fabric_client.run_statement(sid, "print(''.join(chr(97 + i % 26) for i in range(25000)))")
    full = done.output.text
    assert len(full) == 25000
    page = fabric_client.get_statement_output_page(sid, done.id, 26, 5)
    assert page.output.text == "abcde"
    assert fabric_client.get_full_output_text(sid, done.id, page_size=4096) == full


def test_session_log_and_state(livy_client, fabric_client, shared_session):
    assert livy_client.get_session_state(shared_session.livy_id) is SessionState.IDLE
    log = livy_client.get_session_log(shared_session.livy_id, size=5)
    assert 0 < len(log.lines) <= 5 and log.total >= len(log.lines)
    fabric_log = fabric_client.get_session_log(shared_session.guid, size=5)
    assert 0 < len(fabric_log.lines) <= 5


def test_reset_timeout_keeps_session_alive(fabric_client, livy_client, shared_session):
    fabric_client.reset_session_timeout(shared_session.guid)
    livy_client.reset_session_timeout(shared_session.livy_id)
    with pytest.raises(SessionNotFound):
        fabric_client.reset_session_timeout(str(uuid.uuid4()))


def test_unknown_sessions_raise_session_not_found(livy_client, fabric_client):
    with pytest.raises(SessionNotFound):
        livy_client.get_session(987654)
    with pytest.raises(SessionNotFound) as info:
        fabric_client.get_session(str(uuid.uuid4()))
    assert info.value.request_id  # Fabric errors carry a requestId for support
    with pytest.raises(SessionNotFound):
        livy_client.delete_session(987654)
    livy_client.delete_session(987654, missing_ok=True)


def test_list_sessions_pages_in_both_shapes(livy_client, fabric_client, shared_session):
    for client, wanted in ((livy_client, shared_session.livy_id), (fabric_client, shared_session.guid)):
        everything = [s.id for s in client.list_sessions().sessions]
        assert wanted in everything
        paged = [s.id for s in client.iter_sessions(page_size=1)]
        assert paged == everything
        if len(everything) > 1:
            assert [s.id for s in client.list_sessions(start=1, size=1).sessions] == everything[1:2]


def test_keep_alive_reuses_one_connection(proxy, livy_server, shared_session):
    with LivyClient(proxy.url) as client:
        for i in range(8):
            client.run_statement(shared_session.livy_id, str(i))
        # every statement is a POST and several GETs; all went over one TCP connection
        assert proxy.connections == 1
