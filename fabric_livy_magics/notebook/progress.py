"""The progress line in a notebook: the terminal line of ``livy/progress.py``, drawn in place.

It is a plain display bundle (HTML ``<progress>`` plus a text line) updated through a display id,
so it works in JupyterLab, VS Code and classic Notebook without widgets; outside a Jupyter
frontend it falls back to the terminal line. It is cleared at the end, so saved notebooks carry
no progress junk.
"""

from __future__ import annotations

import html
from typing import Any, TextIO

from fabric_livy_magics.livy.progress import TerminalProgress, format_progress_text

__all__ = ["ProgressDisplay", "format_progress_text"]


def _format_progress_html(label: str, fraction: float | None, elapsed: float, state: str | None) -> str:
    bar = (f'<progress value="{min(max(fraction, 0.0), 1.0):.3f}" max="1" style="width:16em"></progress> '
           f"{fraction:.0%} " if fraction is not None else "")
    state_text = f" &middot; {html.escape(state)}" if state else ""
    return (f'<div class="fabric-livy-progress" style="font-family:monospace">'
            f"{html.escape(label)} {bar}&middot; {elapsed:.1f} s{state_text}</div>")


def _in_notebook_frontend() -> bool:
    """True in a Jupyter kernel (JupyterLab, VS Code, Notebook), where display ids update in place."""
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class ProgressDisplay(TerminalProgress):
    """The progress line as a display bundle in a notebook frontend, else on the terminal."""

    def __init__(self, label: str, *, delay: float = 1.0, interval: float = 0.25,
                 enabled: bool = True, stream: TextIO | None = None,
                 notebook: bool | None = None) -> None:
        super().__init__(label, delay=delay, interval=interval, enabled=enabled, stream=stream)
        self._notebook = _in_notebook_frontend() if notebook is None else notebook
        self._handle: Any = None

    def _draw(self, fraction: float | None, elapsed: float, state: str | None) -> None:
        if not self._notebook:
            super()._draw(fraction, elapsed, state)
            return
        bundle = {"text/plain": format_progress_text(self.label, fraction, elapsed, state),
                  "text/html": _format_progress_html(self.label, fraction, elapsed, state)}
        from IPython.display import display

        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def _clear(self) -> None:
        if not self._notebook:
            super()._clear()
        elif self._handle is not None:
            self._handle.update({"text/plain": ""}, raw=True)
