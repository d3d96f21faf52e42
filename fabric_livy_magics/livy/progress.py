"""A one-line progress display for a running statement, a starting session or a batch.

The library reports progress through ``Progress`` (``update(fraction, state)``, ``close()``);
``TerminalProgress`` draws it as a carriage-return line on a terminal, and the notebook layer
draws the same line in place in a notebook (``notebook/progress.py``). It appears only once the
wait is long enough to matter and is cleared at the end, so fast waits leave nothing behind.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Protocol, TextIO

__all__ = ["NoProgress", "Progress", "ProgressFactory", "TerminalProgress", "format_progress_text"]

_BAR_WIDTH = 24


class Progress(Protocol):
    """What the library calls while it waits."""

    def update(self, fraction: float | None = None, state: str | None = None, *,
               force: bool = False) -> None: ...

    def close(self) -> None: ...


#: ``ProgressFactory(label)`` returns a fresh ``Progress`` for one wait.
ProgressFactory = Callable[[str], Progress]


def format_progress_text(label: str, fraction: float | None, elapsed: float, state: str | None) -> str:
    """``label [#######.........]  42%  12.3 s  busy`` (bar omitted when progress is unknown)."""
    parts = [label]
    if fraction is not None:
        fraction = min(max(fraction, 0.0), 1.0)
        filled = int(round(fraction * _BAR_WIDTH))
        parts.append(f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {fraction:4.0%}")
    parts.append(f"{elapsed:6.1f} s")
    if state:
        parts.append(state)
    return "  ".join(parts)


class NoProgress:
    """A progress display that shows nothing (quiet runs, scripts)."""

    def update(self, fraction: float | None = None, state: str | None = None, *,
               force: bool = False) -> None:
        pass

    def close(self) -> None:
        pass


class TerminalProgress:
    """Shows ``update()`` calls as one line, after ``delay`` seconds, at most every ``interval``.

    Subclasses change where the line goes by overriding ``_draw`` and ``_clear``."""

    def __init__(self, label: str, *, delay: float = 1.0, interval: float = 0.25,
                 enabled: bool = True, stream: TextIO | None = None) -> None:
        self.label = label
        self.delay = delay
        self.interval = interval
        self.enabled = enabled
        self._stream = stream
        self._start = time.monotonic()
        self._last_shown = 0.0
        self._terminal_width = 0
        self.shown = False

    def __enter__(self) -> "TerminalProgress":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def update(self, fraction: float | None = None, state: str | None = None, *,
               force: bool = False) -> None:
        """Record progress; redraw if the wait has lasted ``delay`` and ``interval`` has passed."""
        if not self.enabled:
            return
        now = time.monotonic()
        elapsed = now - self._start
        if not force and (elapsed < self.delay or now - self._last_shown < self.interval):
            return
        self._last_shown = now
        self._draw(fraction, elapsed, state)
        self.shown = True

    def close(self) -> None:
        """Remove the line: the real output follows, and nothing stale stays on screen."""
        if not self.shown:
            return
        self._clear()
        self.shown = False

    def _draw(self, fraction: float | None, elapsed: float, state: str | None) -> None:
        text = format_progress_text(self.label, fraction, elapsed, state)
        stream = self._stream or sys.stderr
        padding = " " * max(0, self._terminal_width - len(text))
        stream.write("\r" + text + padding)
        stream.flush()
        self._terminal_width = len(text)

    def _clear(self) -> None:
        stream = self._stream or sys.stderr
        stream.write("\r" + " " * self._terminal_width + "\r")
        stream.flush()
