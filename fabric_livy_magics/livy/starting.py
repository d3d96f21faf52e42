"""Waiting for a session (or a high-concurrency REPL) to be ready: the one implementation.

``LivyClient.wait_for_session``, ``LivyClient.wait_for_high_concurrency_session`` and the managed
session of ``lifecycle.py`` all wait here. A Fabric session can sit in queued, library packaging
and acquiring for minutes before Livy's own ``starting``; ``on_poll`` sees every snapshot (so a
display can keep the elapsed time moving) and ``phase_text`` says the phase in words. A session
that fails to start becomes one error with the server's reason, a hint and the end of its log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from fabric_livy_magics.errors import LivyTimeout, SessionDead, SessionFailed, SessionNotFound
from fabric_livy_magics.livy.models import HighConcurrencySession, Session, SessionId
from fabric_livy_magics.livy.polling import poll_until

__all__ = ["STARTER_POOL_SECONDS", "PhaseClock", "phase_text", "start_cost_note", "start_cost_reasons",
           "start_failure", "wait_until_ready"]

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


_SHORT = {
    "queued": "queued", "not_started": "queued", "NotStarted": "queued",
    "libraryPackaging": "library packaging", "acquiringSession": "acquiring",
    "AcquiringHighConcurrencySession": "acquiring", "starting": "starting",
}

#: A Fabric session from the starter pool is ready within this (the docs say 5-10 s for the pool;
#: through the Livy API it is usually well under a minute). Slower starts get a reason.
STARTER_POOL_SECONDS = 60.0


class PhaseClock:
    """The phases a start went through and how long each took, as polls see them."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self._phases: list[tuple[str, float]] = []  # (phase, when it was first seen)

    def observe(self, phase: str) -> str:
        """Record a poll's phase; the display text: earlier phases with their seconds, then the
        current one in words with its seconds so far."""
        now = self._clock()
        if not self._phases or self._phases[-1][0] != phase:
            self._phases.append((phase, now))
        done = ", ".join(f"{_SHORT.get(p, p)} {s:.0f} s" for p, s in self.phases()[:-1])
        current, since = self._phases[-1]
        text = f"{phase_text(current)} {now - since:.0f} s"
        return f"{done} · {text}" if done else text

    def phases(self, until: float | None = None) -> list[tuple[str, float]]:
        """(phase, seconds) in order; the last one runs until ``until`` (default: now)."""
        end = self._clock() if until is None else until
        times = [when for _, when in self._phases[1:]] + [end]
        return [(phase, max(0.0, stop - start)) for (phase, start), stop in zip(self._phases, times)]

    @property
    def total(self) -> float:
        return max(0.0, (self._phases[-1][1] if self._phases else self._clock()) - self.started)

    def summary(self) -> str:
        """``queued 2 s, acquiring 31 s, starting 6 s`` (the phases before ready)."""
        return ", ".join(f"{_SHORT.get(p, p)} {s:.0f} s" for p, s in self.phases()[:-1]
                         if p not in ("idle", "busy", "Idle"))


_IDLE_TIMEOUT_CONF = "spark.livy.session.idle.timeout"


def start_cost_reasons(answer: Any, *, conf: Mapping[str, str] | None = None,
                       environment_id: str | None = None, phases: Sequence[str] = ()) -> list[str]:
    """Why a Fabric session may start slower than the starter pool, from what the answer (and
    the request) tell: a conf the pool does not match (Fabric's UserSparkConfigMismatch), an
    Environment's libraries, a custom pool. Empty when nothing tells."""
    reasons: list[str] = []
    livy_info = getattr(answer, "livy_info", None) or {}
    request = livy_info.get("jobCreationRequest") if isinstance(livy_info, dict) else None
    sent = dict(conf or {})
    if isinstance(request, dict) and isinstance(request.get("conf"), dict):
        sent.update({str(k): str(v) for k, v in request["conf"].items()})
    codes = {str(getattr(e, "error_code", "") or "") for e in getattr(answer, "error_info", ())}
    text = " ".join(str(x) for x in (getattr(answer, "fabric_error_message", None) or "", *codes))
    if _IDLE_TIMEOUT_CONF in sent:
        reasons.append(f"conf {_IDLE_TIMEOUT_CONF} moves the session off the starter pool "
                       "(UserSparkConfigMismatch)")
    elif "UserSparkConfigMismatch" in text:
        reasons.append("its Spark conf does not match the starter pool (UserSparkConfigMismatch)")
    if environment_id or "spark.fabric.environmentDetails" in sent or "libraryPackaging" in phases:
        reasons.append("the Fabric Environment's libraries are installed at start (library packaging)")
    pool = next((v for k, v in sent.items() if "pool" in k.lower() and "starter" not in v.lower()), None)
    if pool:
        reasons.append(f"it runs on custom pool {pool!r} (no pre-started nodes)")
    return reasons


def start_cost_note(session_id: Any, clock: PhaseClock, reasons: Sequence[str], *,
                    starter_pool_seconds: float = STARTER_POOL_SECONDS) -> str | None:
    """One line when a start took longer than a starter-pool start: its phases and why; None
    for a fast start."""
    if clock.total <= starter_pool_seconds:
        return None
    minutes, seconds = divmod(int(clock.total), 60)
    took = f"{minutes}m {seconds:02d}s" if minutes else f"{seconds} s"
    phases = clock.summary()
    line = f"Session {session_id} took {took} to start" + (f" ({phases})" if phases else "")
    line += f", slower than a starter-pool start (under {starter_pool_seconds:.0f} s)"
    return line + (": " + "; ".join(reasons) + "." if reasons else ".")
