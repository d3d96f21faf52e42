"""Waiting for a session (or a high-concurrency REPL) to be ready: the one implementation.

``LivyClient.wait_for_session``, ``LivyClient.wait_for_high_concurrency_session`` and the managed
session of ``lifecycle.py`` all wait here. A Fabric session can sit in queued, library packaging
and acquiring for minutes before Livy's own ``starting``; ``on_poll`` sees every snapshot (so a
display can keep the elapsed time moving) and ``phase_text`` says the phase in words. A session
that fails to start becomes one error with the server's reason, a hint and the end of its log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from fabric_livy_magics.errors import LivyTimeout, SessionDead, SessionFailed, SessionNotFound
from fabric_livy_magics.livy.models import HighConcurrencySession, Session, SessionId
from fabric_livy_magics.livy.polling import poll_until

__all__ = ["phase_text", "start_failure", "wait_until_ready"]

AnySession = TypeVar("AnySession", Session, HighConcurrencySession)

#: How many log lines a start failure quotes.
FAILURE_LOG_LINES = 8


def wait_until_ready(
    fetch: Callable[[], AnySession],
    session_id: SessionId,
    *,
    intervals: Iterator[float],
    timeout: float | None,
    accept_busy: bool = False,
    not_found_grace: float = 15.0,
    on_poll: Callable[[AnySession], None] | None = None,
    on_change: Callable[[AnySession], None] | None = None,
    failed_hint: str = "Start a new session.",
    timeout_hint: str = "Wait longer, or delete it and start a new one.",
    log_tail: Callable[[AnySession], Sequence[str]] | None = None,
) -> AnySession:
    """Poll ``fetch`` until the session is ready and return the last snapshot.

    Ready means idle (or any ready state with ``accept_busy``); a high-concurrency REPL is ready
    once it is idle with a REPL id. ``on_poll`` runs on every snapshot, ``on_change`` when the
    state or Fabric's phase changes. A 404 in the first ``not_found_grace`` seconds is Fabric not
    having registered the session yet. Failure raises SessionDead (ended) or SessionFailed with
    the reason, ``failed_hint`` and ``log_tail(snapshot)`` (default: its ``log`` field);
    running out of ``timeout`` raises LivyTimeout with ``timeout_hint``."""

    def ready(current: AnySession) -> bool:
        if on_poll is not None:
            on_poll(current)
        busy_counts = accept_busy or isinstance(current, HighConcurrencySession)
        if current.is_ready if busy_counts else str(current.state) == "idle":
            return True
        if current.has_failed:
            tail = log_tail(current) if log_tail is not None else list(getattr(current, "log", ()))
            raise start_failure(current, hint=failed_hint, log=tail)
        return False

    return poll_until(
        fetch, done=ready, intervals=intervals, timeout=timeout,
        change_key=lambda current: (current.state, current.fabric_state, getattr(current, "repl_id", None)),
        on_change=on_change, not_found=SessionNotFound, not_found_grace=not_found_grace,
        timed_out=lambda current: LivyTimeout(
            f"Session {session_id} was not ready after {timeout:g} s (last state: {current.phase}). "
            f"{timeout_hint}".rstrip()))


def start_failure(current: Session | HighConcurrencySession, *, hint: str = "",
                  log: Sequence[str] | None = None) -> SessionFailed:
    """The error for a session that cannot run code: its phase, reason, ``hint`` and log tail.

    SessionDead when the session has ended for good, else SessionFailed."""
    reason = current.fabric_error_message if isinstance(current, HighConcurrencySession) \
        else current.error_message
    what = "High-concurrency session" if isinstance(current, HighConcurrencySession) else "Session"
    message = f"{what} {current.id} is {current.phase}" + (f": {reason}" if reason else "") + "."
    if hint:
        message += f" {hint}"
    lines = list(log if log is not None else getattr(current, "log", ()))
    if lines:
        message += " Last log lines:\n" + "\n".join(lines[-FAILURE_LOG_LINES:])
    cls = SessionDead if current.has_ended else SessionFailed
    return cls(message, session_id=current.id, state=str(current.state), log=lines[-50:])


_PHASE_WORDS = {
    "queued": "queued (waiting for capacity)",
    "libraryPackaging": "packaging libraries",
    "acquiringSession": "acquiring a Spark session",
    "not_started": "queued",
    "starting": "starting Spark",
    "AcquiringHighConcurrencySession": "acquiring a high-concurrency session",
    "NotStarted": "queued",
}


def phase_text(phase: str) -> str:
    """A start-up phase in words a person understands."""
    return _PHASE_WORDS.get(phase, phase)
