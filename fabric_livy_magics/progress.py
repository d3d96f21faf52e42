"""A progress line for a running statement or a starting session.

It is a plain display bundle (HTML ``<progress>`` plus a text line) updated in place through a
display id, so it works in JupyterLab, VS Code and classic Notebook without widgets, and falls back
to a carriage-return line on a terminal. It appears only once the wait is long enough to matter
and is cleared at the end, so fast cells and saved notebooks carry no progress junk.
"""

from __future__ import annotations

import html
import sys
import time
from typing import Any, TextIO

__all__ = ["ProgressDisplay", "format_progress_text"]

_BAR_WIDTH = 24


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


def _format_progress_html(label: str, fraction: float | None, elapsed: float, state: str | None) -> str:
    bar = (f'<progress value="{min(max(fraction, 0.0), 1.0):.3f}" max="1" style="width:16em"></progress> '
           f"{fraction:.0%} " if fraction is not None else "")
    state_text = f" &middot; {html.escape(state)}" if state else ""
    return (f'<div class="fabric-livy-progress" style="font-family:monospace">'
            f"{html.escape(label)} {bar}&middot; {elapsed:.1f} s{state_text}</div>")


def _in_notebook_frontend() -> bool:
    """True in a Jupyter kernel (JupyterLab, VS Code, Notebook), where display ids update in place."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class ProgressDisplay:
    """Shows ``update()`` calls as one line, after ``delay`` seconds, at most every ``interval``."""

    def __init__(self, label: str, *, delay: float = 1.0, interval: float = 0.25,
                 enabled: bool = True, stream: TextIO | None = None,
                 notebook: bool | None = None) -> None:
        self.label = label
        self.delay = delay
        self.interval = interval
        self.enabled = enabled
        self._stream = stream
        self._notebook = _in_notebook_frontend() if notebook is None else notebook
        self._start = time.monotonic()
        self._last_shown = 0.0
        self._handle: Any = None
        self._terminal_width = 0
        self.shown = False

    def __enter__(self) -> "ProgressDisplay":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def update(self, fraction: float | None = None, state: str | None = None, *, force: bool = False) -> None:
        """Record progress; redraw if the wait has lasted ``delay`` and ``interval`` has passed."""
        if not self.enabled:
            return
        now = time.monotonic()
        elapsed = now - self._start
        if not force and (elapsed < self.delay or now - self._last_shown < self.interval):
            return
        self._last_shown = now
        text = format_progress_text(self.label, fraction, elapsed, state)
        if self._notebook:
            self._show_bundle({"text/plain": text,
                               "text/html": _format_progress_html(self.label, fraction, elapsed, state)})
        else:
            stream = self._stream or sys.stderr
            padding = " " * max(0, self._terminal_width - len(text))
            stream.write("\r" + text + padding)
            stream.flush()
            self._terminal_width = len(text)
        self.shown = True

    def _show_bundle(self, bundle: dict[str, str]) -> None:
        from IPython.display import display

        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def close(self) -> None:
        """Remove the line: the cell's real output follows, and the notebook stays clean."""
        if not self.shown:
            return
        if self._notebook and self._handle is not None:
            self._handle.update({"text/plain": ""}, raw=True)
        elif not self._notebook:
            stream = self._stream or sys.stderr
            stream.write("\r" + " " * self._terminal_width + "\r")
            stream.flush()
        self.shown = False
