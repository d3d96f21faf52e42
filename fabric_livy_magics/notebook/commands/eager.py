"""Eager start: the session starts in a background thread right after ``%livy connect`` (or the
kernel's start-up), so the first cell usually finds it ready.

The thread draws nothing (output from a thread lands under whichever cell runs then); it records
the start's phase for the first cell, which, when the start is not done yet, waits with the usual
phase line. An error of the background start is raised by that first cell, as one line.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fabric_livy_magics.errors import LivyError, StatementCancelled

__all__ = ["EAGER_MODES", "BackgroundStart", "RelayProgress", "eager_mode"]

THREAD_NAME = "fabric-livy-eager-start"
#: FABRIC_LIVY_EAGER_START: ``auto`` starts eagerly in a Jupyter frontend, not in a terminal.
EAGER_MODES = ("auto", "1", "0")


def eager_mode() -> str:
    from fabric_livy_magics.livy.settings import env_text

    value = env_text(("FABRIC_LIVY_EAGER_START",), "auto").lower()
    return {"true": "1", "yes": "1", "on": "1", "false": "0", "no": "0", "off": "0"}.get(value, value) \
        if value in (*EAGER_MODES, "true", "yes", "on", "false", "no", "off") else "auto"


class RelayProgress:
    """A ``Progress`` that only remembers the last phase text (the background thread's)."""

    def __init__(self) -> None:
        self.state: str | None = None

    def update(self, fraction: float | None = None, state: str | None = None, *, force: bool = False) -> None:
        if state is not None:
            self.state = state

    def close(self) -> None:
        pass


class BackgroundStart:
    """Run ``open_session`` (returns the session and a note to show, or None) in a daemon thread."""

    def __init__(self, open_session: Callable[[], tuple[Any, str | None]]) -> None:
        self._open = open_session
        self.relay = RelayProgress()
        self.error: BaseException | None = None
        self.note: str | None = None
        self._session: Any = None
        self._abandoned = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def is_mine(self) -> bool:
        """True on the background thread itself (its progress goes to the relay)."""
        return threading.get_ident() == self._thread.ident

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            session, note = self._open()
            self.note = note if self.note is None else self.note
        except BaseException as exc:  # noqa: BLE001 - kept for the first cell to raise
            self.error = exc
            return
        with self._lock:
            self._session = session
            abandoned = self._abandoned
        if abandoned:
            _close(session)

    def abandon(self) -> None:
        """The notebook moved on (connected elsewhere, shut down): delete the session once the
        start is done, unless it is kept or was attached."""
        with self._lock:
            self._abandoned = True
            session = self._session
        if session is not None:
            _close(session)

    def wait(self, progress: Any) -> str | None:
        """Block until the start is done, drawing its phase on ``progress``; return the note to
        show; raise the start's error. Ctrl-C stops waiting (the start goes on)."""
        try:
            while self._thread.is_alive():
                progress.update(None, self.relay.state)
                self._thread.join(0.25)
        except KeyboardInterrupt:
            raise StatementCancelled("Stopped waiting; the session keeps starting in the background "
                                     "and the next cell waits for it again.") from None
        finally:
            progress.close()
        if self.error is not None:
            error = self.error
            if isinstance(error, LivyError):
                raise error
            raise LivyError(f"The session could not start in the background: {error}") from error
        return self.note


def _close(session: Any) -> None:
    try:
        session.close()
        session.client.close()
    except Exception:  # noqa: BLE001 - close() logs; a thread has no one to tell
        pass

