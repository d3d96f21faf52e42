"""Waiting for a notebook's session to start, with a progress line naming Fabric's phases.

A Fabric session can sit in queued, library packaging and acquiring for minutes before Livy's
own ``starting``; the progress line says which, in words, and how long it has been. A session
that fails to start becomes one error with the server's reason and the end of its log.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from fabric_livy_magics.errors import LivyTimeout, SessionDead, SessionFailed, SessionNotFound
from fabric_livy_magics.livy.models import HighConcurrencySession, Session, SessionId
from fabric_livy_magics.livy.polling import poll_until

__all__ = ["poll_ready", "start_failure", "phase_text"]


def poll_ready(fetch: Callable[[], Any], session_id: SessionId, display: Any, *,
               intervals: Iterator[float], start_timeout: float | None,
               accept_busy: bool = False, not_found_grace: float = 15.0,
               failed_hint: str = "", timeout_hint: str = "") -> Any:
    """Poll ``fetch`` until the session is ready, redrawing the phase and elapsed time.

    A 404 in the first ``not_found_grace`` seconds is Fabric not having registered the
    session yet. Failure raises SessionDead/SessionFailed with the server's reason and
    ``failed_hint``; running out of ``start_timeout`` raises LivyTimeout with ``timeout_hint``."""

    def ready(current: Any) -> bool:
        # Redrawn on every poll, not only on a phase change, so the elapsed time keeps moving.
        display.update(None, phase_text(current.phase))
        busy_counts = accept_busy or isinstance(current, HighConcurrencySession)
        if (current.is_ready if busy_counts else str(current.state) == "idle"):
            return True
        if current.has_failed:
            raise start_failure(current, hint=failed_hint)
        return False

    return poll_until(
        fetch, done=ready, intervals=intervals, timeout=start_timeout,
        change_key=lambda current: current.phase, not_found=SessionNotFound,
        not_found_grace=not_found_grace,
        timed_out=lambda current: LivyTimeout(
            f"Session {session_id} was not ready after {start_timeout:g} s (last phase: "
            f"{current.phase}). {timeout_hint}".rstrip()))


def start_failure(current: Session | HighConcurrencySession, *, hint: str = "") -> SessionFailed:
    """The error for a session that failed to start: its reason, ``hint`` and the end of its log."""
    reason = current.fabric_error_message if isinstance(current, HighConcurrencySession) \
        else current.error_message
    message = f"Session {current.id} is {current.phase}" + (f": {reason}" if reason else "") + "."
    if hint:
        message += f" {hint}"
    lines = list(getattr(current, "log", ()))[-8:]
    if lines:
        message += " Last log lines:\n" + "\n".join(lines)
    dead = str(current.state).lower() in ("dead", "killed")
    cls = SessionDead if dead else SessionFailed
    return cls(message, session_id=current.id, state=str(current.state), log=lines)


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
