"""What sessions and batches have in common: a state with its times, an error message, a log.

Both follow Livy's lifecycle names (``SessionState.scala``, ``BatchSession.scala``): they begin
``not_started``, go ``starting`` once their process is launched, and end in one of ``ENDED``.
"""

from __future__ import annotations

import collections
import datetime as _dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["ENDED", "MAX_LOG_LINES", "Tracked", "iso_now", "launch", "now_ms"]

ENDED = frozenset({"dead", "killed", "error", "success"})
MAX_LOG_LINES = 10000
Handle = TypeVar("Handle")


def now_ms() -> int:
    return int(time.time() * 1000)


def iso_now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(kw_only=True)
class Tracked:
    """State, when each state was entered (Fabric's ``livyInfo``), error message, notices, a bounded log.

    Callers hold their registry's lock while changing these.
    """

    state: str = "not_started"
    state_times: dict[str, str] = field(default_factory=dict)
    error_message: str | None = None
    log: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=MAX_LOG_LINES))
    #: Fabric ``errorInfo`` entries that are not failures: why a start took the slow path
    #: (``{"message", "errorCode", "source"}``).
    notices: list[dict[str, str]] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    def set_state(self, state: str) -> None:
        self.state = state
        self.state_times[state] = iso_now()

    def append_log(self, line: str) -> None:
        self.log.append(line)


def launch(
    item: Tracked,
    lock: threading.RLock,
    start: Callable[[], Handle],
    attach: Callable[[Handle], None],
    *,
    what: str,
    failed_state: str,
) -> Handle | None:
    """Start ``item``'s process: ``starting`` on success, ``failed_state`` (logged) if the OS refuses.

    ``attach`` stores the handle on the item under ``lock``; None means the launch failed.
    """
    try:
        handle = start()
    except OSError as exc:
        with lock:
            item.error_message = f"could not start {what}: {exc}"
            item.append_log(item.error_message)
            item.set_state(failed_state)
        return None
    with lock:
        attach(handle)
        if item.state == "not_started":
            item.set_state("starting")
    return handle
