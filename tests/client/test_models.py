"""Parsing of server answers into models: tolerant of both dialects, strict about required ids."""

from __future__ import annotations

import pytest

from fabric_livy_magics.errors import MalformedResponse, StatementCancelled, StatementFailed
from fabric_livy_magics.livy.models import (
    FabricAcquisitionState,
    HighConcurrencySession,
    HighConcurrencyState,
    Session,
    SessionPage,
    SessionState,
    Statement,
    StatementState,
    StatementTarget,
)


def test_states_compare_case_insensitively_and_unknown_values_do_not_fail():
    assert StatementState("Error") is StatementState.ERROR
    assert SessionState("IDLE") is SessionState.IDLE
    assert SessionState("brand_new_state") is SessionState.UNKNOWN
    assert FabricAcquisitionState("LibraryPackaging") is FabricAcquisitionState.LIBRARY_PACKAGING
    assert HighConcurrencyState("idle") is HighConcurrencyState.IDLE


def test_fabric_session_with_only_acquisition_info_parses_and_shows_the_phase():
    session = Session.from_json(
        {"id": "3f2a0c1e-0000-4000-8000-000000000001",
         "fabricSessionStateInfo": {"state": "libraryPackaging"}, "newField": 1})
    assert session.state is SessionState.UNKNOWN
    assert session.phase == "libraryPackaging"
    assert session.extra == {"newField": 1}
    assert not session.has_failed


def test_fabric_capacity_rejection_shows_in_acquisition_state_as_failure():
    session = Session.from_json(
        {"id": "3f2a0c1e-0000-4000-8000-000000000001",
         "fabricSessionStateInfo": {"state": "error", "errorMessage": "capacity full"}})
    assert session.has_failed
    assert session.error_message == "capacity full"


def test_livy_int_ids_and_state_from_livy_info():
    assert Session.from_json({"id": 7, "state": "idle", "kind": "pyspark"}).id == 7
    session = Session.from_json({"id": "1b2c", "livyInfo": {"currentState": "starting"}})
    assert session.state is SessionState.STARTING


def test_missing_id_raises_malformed_response_naming_the_url():
    with pytest.raises(MalformedResponse, match="http://x/sessions/1"):
        Session.from_json({"state": "idle"}, "http://x/sessions/1")
    with pytest.raises(MalformedResponse, match="http://x/s"):
        Statement.from_json(["not", "a", "dict"], "http://x/s")


def test_both_session_list_shapes():
    livy = SessionPage.from_json({"from": 0, "total": 1, "sessions": [{"id": 0, "state": "idle"}]})
    fabric = SessionPage.from_json({"items": [{"id": "a-guid"}], "totalCountOfMatchedItems": 3})
    assert [s.id for s in livy.sessions] == [0] and livy.total == 1
    assert [s.id for s in fabric.sessions] == ["a-guid"] and fabric.total == 3
    with pytest.raises(MalformedResponse):
        SessionPage.from_json({"nothing": []}, "http://x")


def test_error_output_raises_statement_failed_with_remote_traceback():
    statement = Statement.from_json({
        "id": 2, "state": "available", "code": "1/0",
        "output": {"status": "error", "execution_count": 2, "ename": "ZeroDivisionError",
                   "evalue": "division by zero", "traceback": ["line 1\n"]}})
    with pytest.raises(StatementFailed) as info:
        statement.raise_for_status()
    assert info.value.ename == "ZeroDivisionError"
    assert info.value.traceback == ["line 1\n"]


def test_cancelled_statement_raises_cancelled():
    with pytest.raises(StatementCancelled):
        Statement.from_json({"id": 1, "state": "cancelled"}).raise_for_status()


def test_capital_error_state_without_output_still_fails():
    statement = Statement.from_json({"id": 1, "state": "Error", "sourceId": "abc"})
    assert statement.is_finished and statement.source_id == "abc"
    with pytest.raises(StatementFailed):
        statement.raise_for_status()


def test_high_concurrency_target_needs_a_repl():
    waiting = HighConcurrencySession.from_json({"id": "hc1", "state": "AcquiringHighConcurrencySession"})
    assert not waiting.is_ready
    with pytest.raises(ValueError):
        waiting.target
    ready = HighConcurrencySession.from_json(
        {"id": "hc1", "state": "Idle", "sessionId": "s1", "replId": "r1", "sessionTag": "t",
         "creatorId": "u1"})
    assert ready.target == StatementTarget("s1", "r1")
    assert ready.creator_id == "u1"  # a spec field, read rather than dropped
