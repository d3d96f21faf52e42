"""How often to ask a server whether something finished.

A trivial statement finishes in milliseconds, a Spark job in minutes. Polling starts almost at
once and backs off geometrically to a cap, so a quick statement is seen within tens of
milliseconds while a long one costs about one request per ``cap`` seconds. (A fixed list such as
0.2, 0.5, 0.5, 1, 1, 2 s makes every statement take at least 200 ms.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

__all__ = ["PollPolicy", "STATEMENT_POLL", "SESSION_POLL", "Deadline"]


@dataclass(frozen=True)
class PollPolicy:
    """Geometric poll intervals: ``first``, ``first*factor``, ... capped at ``cap`` seconds."""

    first: float = 0.005
    factor: float = 2.0
    cap: float = 1.0

    def intervals(self) -> Iterator[float]:
        """Endless generator of sleep times between polls."""
        interval = self.first
        while True:
            yield min(interval, self.cap)
            interval = min(interval * self.factor, self.cap)


#: Statements: first re-poll after 5 ms, then 10, 20, 40 ... up to 1 s.
STATEMENT_POLL = PollPolicy(first=0.005, factor=2.0, cap=1.0)
#: Sessions take seconds (local) to minutes (Fabric): start at 100 ms, cap at 2 s.
SESSION_POLL = PollPolicy(first=0.1, factor=1.5, cap=2.0)


class Deadline:
    """A monotonic deadline; ``None`` seconds means no limit."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._end = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        return None if self._end is None else max(0.0, self._end - time.monotonic())

    @property
    def expired(self) -> bool:
        return self._end is not None and time.monotonic() >= self._end

    def sleep(self, interval: float) -> None:
        """Sleep ``interval`` seconds, but not past the deadline."""
        remaining = self.remaining()
        time.sleep(interval if remaining is None else min(interval, remaining))
