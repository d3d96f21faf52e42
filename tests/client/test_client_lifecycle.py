"""Sessions that die, and Fabric high-concurrency sessions, against the real local server.

Each test module here starts its own Spark session(s) (about 8 s and 1 GiB each), because
these tests end them.
"""

from __future__ import annotations

import uuid

import pytest

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.errors import (
    ConfigurationError,
    LivyHTTPError,
    SessionDead,
    SessionFailed,
    SessionNotFound,
    StatementFailed,
)
from fabric_livy_magics.livy.models import HighConcurrencyState, SessionState, StatementState


def test_session_whose_process_dies_raises_session_dead_with_log(livy_client: LivyClient):
    phases: list[str] = []
    session = livy_client.create_session(kind="pyspark", name=f"doomed-{uuid.uuid4().hex[:6]}")
    assert isinstance(session.id, int)
    session = livy_client.wait_for_session(session.id, timeout=180,
                                           on_state_change=lambda s: phases.append(s.phase))
    assert phases[-1] == "idle" and "starting" in phases
    try:
        livy_client.run_statement(session, "print('last words', flush=True)\nimport os\nos._exit(3)",
                                  raise_on_error=False, timeout=60)
    except (SessionFailed, StatementFailed):
        pass  # the statement may fail or the session may already be reported gone
    with pytest.raises(SessionFailed) as info:
        livy_client.wait_for_session(session.id, timeout=60)
    error = info.value
    assert error.session_id == session.id
    assert isinstance(error, SessionDead) or error.state in ("error", "dead")
    assert error.log, "a failed session's error carries its log tail"
    assert "Start a new session" in str(error)
    assert livy_client.get_session(session.id).state in (SessionState.DEAD, SessionState.ERROR)
    with pytest.raises(LivyHTTPError):  # statements to a dead session are refused, not queued
        livy_client.create_statement(session.id, "1")
    livy_client.delete_session(session.id, missing_ok=True)
    with pytest.raises(SessionNotFound):
        livy_client.get_session(session.id)


def test_high_concurrency_sessions_share_spark_but_not_namespaces(fabric_client: LivyClient):
    tag = f"tag-{uuid.uuid4().hex[:6]}"
    first = fabric_client.acquire_high_concurrency_session(tag, name="hc-a")
    second = fabric_client.acquire_high_concurrency_session(tag, name="hc-b")
    try:
        assert first.session_tag == tag and first.id != second.id
        phases: list[str] = []
        first = fabric_client.wait_for_high_concurrency_session(
            first.id, timeout=180, on_state_change=lambda hc: phases.append(hc.phase))
        second = fabric_client.wait_for_high_concurrency_session(second.id, timeout=180)
        assert first.state is HighConcurrencyState.IDLE and phases[-1] == "Idle"
        assert first.session_id == second.session_id  # one Spark application ...
        assert first.repl_id != second.repl_id  # ... two REPLs

        fabric_client.run_statement(first, "hc_value = 41")
        assert fabric_client.run_statement(first, "hc_value + 1").output.text == "42"
        with pytest.raises(StatementFailed, match="hc_value"):
            fabric_client.run_statement(second, "hc_value")
        app_a = fabric_client.run_statement(first, "spark.sparkContext.applicationId").output.text
        app_b = fabric_client.run_statement(second, "spark.sparkContext.applicationId").output.text
        assert app_a == app_b

        listed = fabric_client.list_statements(first)
        assert [s.code for s in listed][:2] == ["hc_value = 41", "hc_value + 1"]
        running = fabric_client.create_statement(second, "import time; time.sleep(60)")
        fabric_client.cancel_statement(second, running.id)
        final = fabric_client.wait_for_statement(second, running.id, timeout=30)
        assert final.state is StatementState.CANCELLED
        assert fabric_client.get_high_concurrency_session(first.id).repl_id == first.repl_id
    finally:
        fabric_client.delete_high_concurrency_session(first.id, missing_ok=True)
        fabric_client.delete_high_concurrency_session(second.id, missing_ok=True)
    with pytest.raises(SessionNotFound):
        fabric_client.get_high_concurrency_session(first.id)


def test_high_concurrency_needs_a_fabric_endpoint(livy_client: LivyClient):
    with pytest.raises(ConfigurationError, match="Fabric"):
        livy_client.acquire_high_concurrency_session("tag")
