"""How errors show in a notebook: one line for ours, the remote traceback for the remote code's."""

from __future__ import annotations

from fabric_livy_magics.errors import LivyHTTPError, SessionDead, StatementFailed


def test_our_errors_render_as_one_line():
    error = SessionDead("Session 7 is dead. Run `%livy restart`.", session_id=7, state="dead")
    assert error._render_traceback_() == ["SessionDead: Session 7 is dead. Run `%livy restart`."]


def test_request_id_is_part_of_the_message():
    error = LivyHTTPError("Fabric refused the request (500).", status_code=500, request_id="abc-123")
    assert str(error) == "Fabric refused the request (500). (requestId abc-123)"


def test_remote_traceback_is_shown_with_the_exception_line_once():
    failed = StatementFailed("ZeroDivisionError", "division by zero", [
        "Traceback (most recent call last):\n",
        '  File "<stdin>", line 1, in <module>\n',
        "ZeroDivisionError: division by zero\n",
    ])
    rendered = failed._render_traceback_()
    assert rendered[-1] == "ZeroDivisionError: division by zero"
    assert sum("division by zero" in line for line in rendered) == 1


def test_qualified_multi_line_exception_line_is_not_repeated():
    evalue = "[TABLE_OR_VIEW_NOT_FOUND] The table `t` cannot be found.\n'UnresolvedRelation [t]"
    failed = StatementFailed("AnalysisException", evalue, [
        "Traceback (most recent call last):\n",
        '  File "<stdin>", line 1, in <module>\n',
        f"pyspark.errors.exceptions.captured.AnalysisException: {evalue}\n",
    ])
    rendered = failed._render_traceback_()
    assert sum("TABLE_OR_VIEW_NOT_FOUND" in line for line in rendered) == 1
    assert rendered[-1] == "'UnresolvedRelation [t]"


def test_missing_exception_line_is_added():
    failed = StatementFailed("KeyboardInterrupt", "statement cancelled", [])
    assert failed._render_traceback_() == ["KeyboardInterrupt: statement cancelled"]
