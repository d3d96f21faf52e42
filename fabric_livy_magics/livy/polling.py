"""How often to ask a server whether something finished.

A trivial statement finishes in milliseconds, a Spark job in minutes. Polling starts almost at
once and backs off geometrically to a cap, so a quick statement is seen within tens of
milliseconds while a long one costs about one request per ``cap`` seconds. (A fixed list such as
0.2, 0.5, 0.5, 1, 1, 2 s makes every statement take at least 200 ms.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Hashable, Iterator, TypeVar

__all__ = ["PollPolicy", "STATEMENT_POLL", "SESSION_POLL", "Deadline", "poll_until"]

T = TypeVar("T")

_NOTHING = object()  # no snapshot seen yet: the first one always counts as a change


@dataclass(frozen=True)
class PollPolicy:
    """Poll intervals: ``first``, growing by ``factor`` up to ``steady`` (default ``cap``), held
    there for the first ``steady_for`` seconds, then growing again up to ``cap``."""

    first: float = 0.005
    factor: float = 2.0
    cap: float = 1.0
    steady: float | None = None
    steady_for: float = 0.0

    def intervals(self) -> Iterator[float]:
        """Endless generator of sleep times between polls."""
        steady = self.cap if self.steady is None else min(self.steady, self.cap)
        interval, elapsed = self.first, 0.0
        while elapsed < self.steady_for:
            interval = min(interval, steady)
            yield interval
            elapsed += interval
            interval *= self.factor
        while True:
            yield min(interval, self.cap)
            interval = min(interval * self.factor, self.cap)

    def requests_in(self, seconds: float) -> int:
        """How many polls this schedule sends in its first ``seconds`` (round trips not counted)."""
        count, elapsed = 1, 0.0
        for interval in self.intervals():
            elapsed += interval
            if elapsed > seconds:
                return count
            count += 1
        raise AssertionError("unreachable")


#: Statements: first re-poll after 5 ms, then 10, 20, 25 ms held for the first 2 s (a statement
#: of up to 2 s is seen about 12 ms after it ends), then 50, 100 ... up to 1 s: about 140 requests
#: in a statement's first minute, within Fabric's rate limits. Where the server offers to wait
#: for a change (the local server), statements are not polled on this schedule at all.
STATEMENT_POLL = PollPolicy(first=0.005, factor=2.0, cap=1.0, steady=0.025, steady_for=2.0)
#: Sessions take seconds (local) to minutes (Fabric): start at 100 ms, cap at 2 s.
SESSION_POLL = PollPolicy(first=0.1, factor=1.5, cap=2.0)


class Deadline:
    """A monotonic deadline; ``None`` seconds means no limit."""

    def __init__(self, seconds: float | None) -> None:
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


def poll_until(
    fetch: Callable[[], T],
    *,
    done: Callable[[T], bool],
    intervals: Iterator[float],
    timeout: float | None,
    timed_out: Callable[[T], Exception],
    change_key: Callable[[T], Hashable],
    on_change: Callable[[T], None] | None = None,
    not_found: type[Exception] | tuple[type[Exception], ...] = (),
    not_found_grace: float = 0.0,
) -> T:
    """Call ``fetch`` until ``done(snapshot)`` (which may raise for a failure) and return it.

    ``on_change(snapshot)`` runs whenever ``change_key(snapshot)`` differs from the last one.
    ``not_found`` raised in the first ``not_found_grace`` seconds is taken as the server not having
    registered the object yet (Fabric) and polled through. After ``timeout`` seconds the error
    ``timed_out(last snapshot)`` is raised."""
    deadline = Deadline(timeout)
    grace = Deadline(not_found_grace)
    last: Hashable = _NOTHING
    while True:
        try:
            current = fetch()
        except not_found:
            if grace.expired or deadline.expired:
                raise
            deadline.sleep(next(intervals))
            continue
        key = change_key(current)
        if key != last:
            last = key
            if on_change is not None:
                on_change(current)
        if done(current):
            return current
        if deadline.expired:
            raise timed_out(current)
        deadline.sleep(next(intervals))
