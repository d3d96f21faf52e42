"""``ManagedSession``: the one remote Spark session a notebook uses, over ``LivyClient``.

It is created lazily (the first cell pays the start-up, with a progress line naming Fabric's
phases: queued, library packaging, acquiring, starting), reused by every cell, kept alive while
idle (Fabric kills idle sessions after about 20 minutes; a daemon thread calls reset-timeout),
and deleted at kernel shutdown unless the person asked to keep it. A session that died is
reported on the next cell with one line that offers ``%livy restart``; nothing waits forever.
No IPython here: the caller passes how progress is shown (``livy/progress.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.targets import SessionOptions
from fabric_livy_magics.errors import (
    LivyError,
    LivyHTTPError,
    SessionDead,
    SessionNotFound,
    StatementCancelled,
)
from fabric_livy_magics.livy.keepalive import KeepAlive
from fabric_livy_magics.livy.models import (
    HighConcurrencySession,
    Session,
    SessionId,
    Statement,
    StatementState,
    StatementTarget,
)
from fabric_livy_magics.livy import running
from fabric_livy_magics.livy.progress import NoProgress, ProgressFactory
from fabric_livy_magics.livy.session_info import SessionInfo, fetch_session_info
from fabric_livy_magics.livy.starting import PhaseClock, wait_until_ready

__all__ = ["CANCEL_WAIT_SECONDS", "ManagedSession", "ProgressFactory", "SessionInfo"]

log = logging.getLogger(__name__)

#: After asking the server to cancel, how long to wait for it to say so before raising anyway.
CANCEL_WAIT_SECONDS = running.CANCEL_WAIT_SECONDS

RESTART_HINT = "Run `%livy restart` to start a new session."


class ManagedSession:
    """One notebook's session on one endpoint. Thread-safe where the keep-alive thread meets it."""

    def __init__(
        self,
        client: LivyClient,
        options: SessionOptions,
        *,
        start_timeout: float | None = 900.0,
        keepalive_interval: float = 300.0,
        progress: ProgressFactory | None = None,
    ) -> None:
        self.client = client
        self.options = options
        self.start_timeout = start_timeout
        self.keepalive_interval = keepalive_interval
        self._progress: ProgressFactory = progress or (lambda label: NoProgress())
        self._lock = threading.RLock()
        self._session: Session | None = None
        self._hc: HighConcurrencySession | None = None
        self._target: StatementTarget | None = None
        self._owned = True
        self._dead_reason: str | None = None
        self._created_at = 0.0
        self._statements = 0
        self._last_statement: int | None = None
        self._busy = False
        #: Each start-up phase and its seconds, of the last start or attach (``starting.py``).
        self.start_phases: PhaseClock | None = None
        self._keepalive = KeepAlive(interval=lambda: self.keepalive_interval,
                                    ping=self.keep_alive_once, busy=lambda: self._busy)

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """True once a remote session exists for this notebook (no I/O)."""
        return self._target is not None

    @property
    def session_id(self) -> SessionId | None:
        return self._target.session_id if self._target else None

    @property
    def target(self) -> StatementTarget | None:
        return self._target

    @property
    def owned(self) -> bool:
        """False for a session attached with ``attach``: this notebook never deletes it on its own."""
        return self._owned

    @property
    def high_concurrency_id(self) -> str | None:
        return self._hc.id if self._hc else None

    def ensure(self) -> StatementTarget:
        """The statement target, creating and waiting for the session on first use."""
        with self._lock:
            if self._dead_reason is not None:
                raise SessionDead(self._dead_reason, session_id=self.session_id, state="dead")
            if self._target is None:
                self._start()
            assert self._target is not None
            return self._target

    def _start(self) -> None:
        opts = self.options
        display = self._progress("Starting Spark session")
        try:
            if opts.high_concurrency:
                hc = self.client.acquire_high_concurrency_session(
                    opts.tag, name=opts.name, conf=opts.conf, environment_id=opts.environment_id)
                self._hc, self._session = hc, None  # known now, so a failed start deletes it
                self._hc = self._wait_started(
                    lambda: self.client.get_high_concurrency_session(hc.id), hc.id, display)
                self._target = self._hc.target
            else:
                session = self.client.create_session(
                    name=opts.name, kind=opts.kind, conf=opts.conf,
                    environment_id=opts.environment_id)
                self._session = session  # known now, so a failed start deletes it
                self._session = self._wait_started(
                    lambda: self.client.get_session(session.id), session.id, display)
                self._target = StatementTarget(session.id)
        finally:
            display.close()
        self._owned = True
        self._created_at = time.monotonic()
        self._statements = 0
        self._keepalive.touch()
        self._keepalive.start()

    def _wait_started(self, fetch: Callable[[], Any], session_id: SessionId, display: Any) -> Any:
        """Wait for a session this notebook just created; on any failure, delete it."""
        hint = "It was deleted: run the cell again to start a new one."
        try:
            return self._poll_ready(fetch, session_id, display, failed_hint=hint, timeout_hint=hint)
        except KeyboardInterrupt:
            self._discard_half_started()
            raise StatementCancelled("Start cancelled; the half-started session was deleted.") from None
        except BaseException:
            self._discard_half_started()
            raise

    def _poll_ready(self, fetch: Callable[[], Any], session_id: SessionId, display: Any, *,
                    accept_busy: bool = False, not_found_grace: float = 15.0,
                    failed_hint: str, timeout_hint: str) -> Any:
        """Wait for the session to start (``starting.py``), redrawing its phase on every poll so
        the elapsed time keeps moving."""
        clock = self.start_phases = PhaseClock()
        return wait_until_ready(
            fetch, session_id, intervals=self.client.session_poll.intervals(),
            timeout=self.start_timeout, accept_busy=accept_busy, not_found_grace=not_found_grace,
            on_poll=lambda current: display.update(None, clock.observe(current.phase)),
            failed_hint=failed_hint, timeout_hint=timeout_hint, log_tail=self.client.session_log_tail)

    def _discard_half_started(self) -> None:
        """A start that failed or was interrupted must not leave a cluster running."""
        try:
            if self._hc is not None:
                self.client.delete_high_concurrency_session(self._hc.id, missing_ok=True)
            elif self._session is not None:
                self.client.delete_session(self._session.id, missing_ok=True)
        except LivyError as exc:
            log.warning("Could not delete the session that failed to start: %s", exc)
        self._hc = None
        self._session = None

    def attach(self, session_id: SessionId, *, owned: bool = False) -> Session:
        """Use an existing session (started elsewhere). It is not deleted at shutdown, unless
        ``owned`` (this notebook's own session, re-attached after a kernel restart)."""
        with self._lock:
            parsed = self.client.endpoint.parse_session_id(session_id)
            display = self._progress(f"Attaching to session {parsed}")
            try:
                session = self._poll_ready(
                    lambda: self.client.get_session(parsed), parsed, display, accept_busy=True,
                    not_found_grace=0.0, failed_hint=RESTART_HINT,
                    timeout_hint=f"Run `%livy attach {parsed}` again to keep waiting, or "
                                 "`%livy restart` for a new session.")
            finally:
                display.close()
            self._keepalive.stop()
            self._session, self._hc = session, None
            self._target = StatementTarget(session.id)
            self._owned = owned
            self._dead_reason = None
            self._created_at = time.monotonic()
            self._statements = 0
            self._keepalive.touch()
            self._keepalive.start()
            return session

    def stop(self, *, force: bool = True) -> SessionId | None:
        """Delete the session (``force=False``: only if this notebook owns it and --keep is off).

        Returns the id that was deleted, if any. Forgets the session either way, so the next
        cell starts a new one."""
        with self._lock:
            self._keepalive.stop()
            target, hc, session = self._target, self._hc, self._session
            owned = self._owned and not self.options.keep
            self._target = self._session = self._hc = None
            self._dead_reason = None
            self._last_statement = None
            if target is None and hc is None and session is None:
                return None
            if not force and not owned:
                return None
            if hc is not None:
                self.client.delete_high_concurrency_session(hc.id, missing_ok=True)
                return hc.id
            if session is not None:
                self.client.delete_session(session.id, missing_ok=True)
                return session.id
            return None

    def restart(self) -> StatementTarget:
        """Delete the current session (if any) and start a fresh one now."""
        with self._lock:
            try:
                self.stop(force=self._owned)
            except LivyError as exc:  # the old one may already be gone; a new one is what matters
                log.info("Stopping the old session failed: %s", exc)
            return self.ensure()

    def close(self) -> None:
        """Kernel shutdown: stop the keep-alive, delete the session unless kept; never raises."""
        try:
            self.stop(force=False)
        except Exception as exc:  # noqa: BLE001 - shutting down: report, never fail the exit
            log.warning("Could not delete session %s at shutdown: %s", self.session_id, exc)
        finally:
            self._keepalive.stop()

    # --- keep-alive (the thread is in keepalive.py) -----------------------------------------

    def keep_alive_once(self) -> bool:
        """One keep-alive ping; a session found gone is remembered for the next cell."""
        target = self._target
        if target is None or self._dead_reason is not None:
            return False
        session_id = self._session.id if self._session is not None else target.session_id
        try:
            self.client.reset_session_timeout(session_id)
            return True
        except SessionNotFound:
            self._dead_reason = f"Session {session_id} is gone from the server. {RESTART_HINT}"
        except LivyError as exc:
            log.info("Keep-alive for session %s failed: %s", session_id, exc)
        return False

    # --- statements --------------------------------------------------------------------------

    def run(self, code: str, kind: str | None = None, *, timeout: float | None = None,
            quiet: bool = False, label: str = "Running") -> Statement:
        """Run ``code`` and return the finished statement (check ``raise_for_status``).

        Ctrl-C cancels the statement on the server, then raises StatementCancelled. A session
        that died raises SessionDead with a one-line message offering ``%livy restart``."""
        target = self.ensure()
        kind = kind or self.options.kind
        with self._lock:
            self._busy = True
        display = self._progress(label) if not quiet else NoProgress()
        statement: Statement | None = None
        self.client.http.on_wait = lambda text, seconds: display.update(None, text, force=True)
        try:
            try:
                statement = self.client.create_statement(target, code, kind)
            except LivyHTTPError as exc:  # SessionNotFound included
                raise self._diagnose(exc) from exc
            self._last_statement = statement.id
            self._statements += 1
            return self._wait(target, statement, timeout, display)
        except KeyboardInterrupt:
            display.close()
            if statement is None:
                raise StatementCancelled("Interrupted before the statement was submitted.") from None
            raise running.cancel_after_interrupt(self.client, target, statement.id) from None
        finally:
            self.client.http.on_wait = None
            display.close()
            with self._lock:
                self._busy = False
            self._keepalive.touch()

    def _wait(self, target: StatementTarget, statement: Statement, timeout: float | None,
              display: Any) -> Statement:
        progress = running.SparkWorkProgress(self.client, target, statement.id,
                                             spark=not isinstance(display, NoProgress))
        display.update(*progress(statement))
        if not statement.is_finished:
            try:
                statement = running.wait_for_statement(
                    self.client, target, statement.id, intervals=self.client.statement_poll.intervals(),
                    timeout=timeout, on_poll=lambda current: display.update(*progress(current)),
                    timeout_hint="It keeps running remotely: run `%livy cancel` to stop it.",
                    gone_hint=RESTART_HINT)
            except SessionDead as dead:
                self._mark_dead(str(dead))
                raise
            except LivyHTTPError as exc:  # StatementNotFound, SessionNotFound included
                raise self._diagnose(exc) from exc
        # A dying session fails its statements: say so, not "SessionError". A cancelled
        # statement says nothing about the session (and would cost the settle delay).
        failed = statement.state is StatementState.ERROR or (
            statement.state is not StatementState.CANCELLED
            and statement.output is not None and not statement.output.ok)
        if failed:
            self._check_alive(settle=not (statement.output and statement.output.traceback))
        return statement

    def run_text(self, code: str) -> str:
        """Run Python remotely and return its ``text/plain`` output; raise on remote errors.

        This is the ``run`` callable that ``transfer.fetch_dataframe``/``send_dataframe`` use."""
        statement = self.run(code, "pyspark", quiet=True)
        statement.raise_for_status()
        output = statement.output
        return (output.text or "") if output is not None else ""

    def cancel(self) -> int | None:
        """Cancel this notebook's last statement if it is still running; its id, else None."""
        target, statement_id = self._target, self._last_statement
        if target is None or statement_id is None:
            return None
        current = self.client.get_statement(target, statement_id)
        if current.is_finished:
            return None
        self.client.cancel_statement(target, statement_id)
        return statement_id

    def _check_alive(self, *, settle: bool = False) -> None:
        """Raise SessionDead (and remember it for the next cell) if the server says the session
        ended; see ``running.check_session_alive``."""
        target = self._target
        if target is None:
            return
        try:
            running.check_session_alive(self.client, target, settle=settle, hint=RESTART_HINT)
        except SessionDead as dead:
            self._mark_dead(str(dead))
            raise

    def _mark_dead(self, reason: str) -> None:
        self._keepalive.stop()
        self._dead_reason = reason if RESTART_HINT in reason else f"{reason} {RESTART_HINT}"

    def _diagnose(self, exc: LivyHTTPError) -> LivyError:
        """Turn a failed call into SessionDead when the session is the reason, else keep it."""
        try:
            self._check_alive()
        except SessionDead as dead:
            return dead
        return exc

    # --- information -------------------------------------------------------------------------

    def refresh(self) -> Session | HighConcurrencySession | None:
        """The current server view of the session (None before the first cell)."""
        if self._hc is not None:
            return self.client.get_high_concurrency_session(self._hc.id)
        if self._target is None:
            return None
        return self.client.get_session(self._target.session_id)

    def info(self) -> SessionInfo | None:
        """A fresh snapshot for ``%livy info``; None before the first cell."""
        target = self._target
        if target is None:
            return None
        return fetch_session_info(
            self.client, target, high_concurrency_id=self._hc.id if self._hc else None,
            kind=self.options.kind, elapsed=time.monotonic() - self._created_at,
            statements=self._statements, owned=self._owned)
