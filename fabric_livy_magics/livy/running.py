"""Running a statement: the one wait, the one "did the session die?" check, the one Ctrl-C rule.

``LivyClient.wait_for_statement``/``run_statement`` and the managed session of ``lifecycle.py``
both run here, so a statement is waited for, diagnosed and cancelled the same way everywhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from fabric_livy_magics.errors import (
    LivyConnectionError,
    LivyError,
    LivyHTTPError,
    LivyTimeout,
    MalformedResponse,
    SessionDead,
    SessionNotFound,
    StatementCancelled,
    StatementNotFound,
    Throttled,
)
from fabric_livy_magics.livy.models import Session, SessionId, Statement, StatementState, StatementTarget
from fabric_livy_magics.livy.polling import Deadline, PollPolicy, poll_until
from fabric_livy_magics.livy.starting import start_failure

__all__ = ["CANCEL_WAIT_SECONDS", "SparkWorkProgress", "cancel_after_interrupt", "check_session_alive",
           "wait_for_statement"]

log = logging.getLogger(__name__)


class LivyClient(Protocol):
    """The calls of ``client.LivyClient`` a running statement needs (no import: the client uses us)."""

    statement_poll: PollPolicy
    endpoint: Any

    def get_session(self, session_id: SessionId) -> Session: ...
    @property
    def statement_wait(self) -> float | None: ...
    def get_statement(self, session: StatementTarget, statement_id: int, *,
                      wait: float | None = None) -> Statement: ...
    def cancel_statement(self, session: StatementTarget, statement_id: int) -> str: ...

#: Seconds between two looks at the Spark jobs of a running statement (one GET each).
SPARK_PROGRESS_SECONDS = 1.0
#: After asking the server to cancel, how long to wait for it to say so before raising anyway.
CANCEL_WAIT_SECONDS = 10.0
#: How long a statement may be answered without a known state before that is an error.
UNKNOWN_STATE_SECONDS = 60.0
#: A failure without a traceback may be the session dying: give the server this long to notice.
_SETTLE_DELAYS = (0.25, 0.5, 1.0)


def wait_for_statement(
    client: LivyClient,
    target: StatementTarget,
    statement_id: int,
    *,
    intervals: Iterator[float],
    timeout: float | None,
    on_poll: Callable[[Statement], None] | None = None,
    on_change: Callable[[Statement], None] | None = None,
    timeout_hint: str = "It keeps running; cancel it or wait again.",
    gone_hint: str = "Start a new session.",
) -> Statement:
    """Poll until the statement is available, failed or cancelled, and return it.

    ``on_poll`` sees every snapshot, ``on_change`` those whose state or progress changed. A
    statement that vanished is explained by its session, when that is gone (SessionDead).

    Where the server offers to wait for a change (``client.statement_wait``), each GET waits
    there and the next goes out at once: the end is seen as it happens. A server that offers it
    and then answers at once with nothing new is polled on ``intervals`` instead."""
    long_poll: float | None = getattr(client, "statement_wait", None)
    seen: tuple[object, ...] | None = None  # (state, progress) of the last answer

    def next_intervals() -> Iterator[float]:
        while True:
            yield 0.0 if long_poll else next(intervals)

    def fetch() -> Statement:
        nonlocal long_poll, seen
        try:
            if not long_poll or seen is None:  # the first look is at once: it shows "running"
                statement = client.get_statement(target, statement_id)
                seen = (statement.state, statement.progress)
                return statement
            began = time.monotonic()
            statement = client.get_statement(target, statement_id, wait=long_poll)
            snapshot = (statement.state, statement.progress)
            if seen == snapshot and time.monotonic() - began < long_poll / 2:
                log.debug("The server offered to wait for statement changes but did not: polling instead")
                long_poll = None
            seen = snapshot
            return statement
        except StatementNotFound:
            check_session_alive(client, target, hint=gone_hint)
            raise
        except (LivyConnectionError, MalformedResponse, LivyHTTPError) as exc:
            if isinstance(exc, LivyHTTPError) and not isinstance(exc, Throttled) \
                    and exc.status_code is not None and exc.status_code < 500:
                raise  # a refusal (403, 404 ...) tells what happened
            raise may_still_run(exc, statement_id) from None

    unknown_since: list[float] = []

    def finished(statement: Statement) -> bool:
        if on_poll is not None:
            on_poll(statement)
        if statement.state is StatementState.UNKNOWN and statement.output is None:
            # An answer without a state we know must not be polled forever.
            unknown_since.append(time.monotonic())
            if unknown_since[-1] - unknown_since[0] > UNKNOWN_STATE_SECONDS:
                raise MalformedResponse(
                    f"{client_url(client, target, statement_id)} kept answering statement {statement_id} "
                    f"without a state this client knows for {UNKNOWN_STATE_SECONDS:g} s. Check that the "
                    "URL points at a Livy or Fabric Livy API endpoint.")
        else:
            unknown_since.clear()
        return statement.is_finished

    return poll_until(
        fetch, done=finished, intervals=next_intervals(), timeout=timeout,
        change_key=lambda statement: (statement.state, statement.progress), on_change=on_change,
        timed_out=lambda statement: LivyTimeout(
            f"Statement {statement_id} in session {target} was still {statement.state} after "
            f"{timeout:g} s. {timeout_hint}"))


def may_still_run(exc: LivyError, statement_id: int) -> LivyError:
    """``exc``, its message saying what it means for a statement already accepted: it was not
    watched to its end, which is not that it failed, so the person looks before running it again."""
    exc.args = (f"{exc.args[0]} Statement {statement_id} was accepted and may still be running: look at "
                "the session's statements before running the code again.", *exc.args[1:])
    return exc


def client_url(client: LivyClient, target: StatementTarget, statement_id: int) -> str:
    return str(client.endpoint.statement_url(target, statement_id))


def check_session_alive(client: LivyClient, target: StatementTarget, *, settle: bool = False,
                        hint: str = "Start a new session.") -> None:
    """Raise SessionDead if the server says the session behind ``target`` has ended.

    ``settle``: a failure came without a traceback (the server's doing, not the user's code), so
    give a dying process a moment to show before concluding the session is alive. Errors of the
    check itself say nothing and are ignored (the caller's own error stands)."""
    if target.is_repl:
        return
    try:
        session = client.get_session(target.session_id)
        for delay in (_SETTLE_DELAYS if settle else ()):
            if session.has_failed:
                break
            time.sleep(delay)
            session = client.get_session(target.session_id)
    except SessionNotFound:
        raise SessionDead(f"Session {target.session_id} is gone from the server. {hint}",
                          session_id=target.session_id, state="gone") from None
    except LivyError:
        return
    if session.has_failed:  # one line: the reason, not the log (``%livy logs`` shows that)
        failure = start_failure(session, hint=hint, log=())
        raise SessionDead(str(failure), session_id=session.id, state=str(session.state))


def cancel_after_interrupt(client: LivyClient, target: StatementTarget, statement_id: int, *,
                           wait: float = CANCEL_WAIT_SECONDS) -> StatementCancelled:
    """Ctrl-C during a statement: cancel it on the server, wait up to ``wait`` seconds for the
    server to say so, and return the StatementCancelled to raise. Never raises itself."""
    try:
        client.cancel_statement(target, statement_id)
        deadline = Deadline(wait)
        intervals = client.statement_poll.intervals()
        while not deadline.expired:
            if client.get_statement(target, statement_id).is_finished:
                break
            deadline.sleep(next(intervals))
    except LivyError as exc:
        log.warning("Could not cancel statement %s: %s", statement_id, exc)
    return StatementCancelled(f"Statement {statement_id} was interrupted and cancelled on the server.")


class SparkWorkProgress:
    """What a progress line shows for a running statement: the statement's own ``progress`` and
    state, and where the Spark monitoring API exists (Fabric, the local server's Fabric shape)
    its Spark jobs, stages and tasks done of total (``jobs 1/2 · stages 2/4 · tasks 19/50``).

    Fabric's statements carry no ``progress``: there the tasks done of total is the fraction. The
    jobs are read at most every ``SPARK_PROGRESS_SECONDS``; the count is advisory, so a failed
    read is logged and the line goes on with the statement's state alone."""

    def __init__(self, client: Any, target: StatementTarget, statement_id: int, *, spark: bool = True) -> None:
        self._client = client
        self._target = target
        self._statement_id = statement_id
        monitoring = getattr(client, "monitoring", None)
        self._enabled = spark and monitoring is not None and monitoring.available
        self._app_id: str | None = None
        # A statement done within the first second never costs a monitoring request.
        self._next = time.monotonic() + SPARK_PROGRESS_SECONDS
        self._work: Any = None

    def __call__(self, statement: Statement) -> tuple[float | None, str]:
        """``(fraction, state text)`` for ``Progress.update``."""
        work = self._spark_work(statement) if self._enabled else None
        state = str(statement.state)
        if work is None or not work.jobs_total:
            return statement.progress, state
        fraction = statement.progress if statement.progress else work.fraction
        return fraction, f"{state} · {work}"

    def _spark_work(self, statement: Statement) -> Any:
        now = time.monotonic()
        if now < self._next:
            return self._work
        self._next = now + SPARK_PROGRESS_SECONDS
        try:
            if self._app_id is None:
                self._app_id = self._client.get_session(self._target.session_id).app_id
                if self._app_id is None:
                    return None
            self._work = self._client.monitoring.statement_progress(
                self._target.session_id, self._app_id, self._statement_id)
        except LivyError as exc:
            log.info("Spark job progress unavailable for statement %s: %s", self._statement_id, exc)
            self._enabled = False
            return None
        return self._work
