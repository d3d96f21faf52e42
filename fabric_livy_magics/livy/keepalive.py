"""The keep-alive thread of a notebook session.

Fabric kills a session that has been idle for about 20 minutes, which would throw away a
notebook's variables while its owner reads. While the session is idle, a daemon thread calls
``ping`` (reset-timeout) every ``interval`` seconds; it skips a beat while a statement runs or
when the notebook was active in the last half interval.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

__all__ = ["KeepAlive", "THREAD_NAME"]

THREAD_NAME = "fabric-livy-keepalive"


class KeepAlive:
    """Start and stop one daemon thread that pings while the session is idle."""

    def __init__(self, *, interval: Callable[[], float], ping: Callable[[], object],
                 busy: Callable[[], bool]) -> None:
        self._interval = interval
        self._ping = ping
        self._busy = busy
        self._last_activity = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def touch(self) -> None:
        """The notebook just used the session: the next ping can wait."""
        self._last_activity = time.monotonic()

    def start(self) -> None:
        if self._interval() <= 0 or self._thread is not None:
            return
        self._stop = threading.Event()
        thread = threading.Thread(target=self._loop, args=(self._stop,), name=THREAD_NAME,
                                  daemon=True)
        self._thread = thread
        thread.start()

    def stop(self) -> None:
        """Stop the thread (and wait for it, unless called from it)."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def _loop(self, stop: threading.Event) -> None:
        """While idle, reset the server's idle timer every ``interval`` seconds."""
        while not stop.wait(self._interval()):
            if self._busy() or time.monotonic() - self._last_activity < self._interval() / 2:
                continue
            self._ping()
