"""Helpers shared by the session tests (imported by name: tests are not a package)."""

from __future__ import annotations

from typing import Any

from IPython.core.interactiveshell import InteractiveShell

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.notebook.commands.cell import state_of
from fabric_livy_magics.notebook.commands.state import NotebookState


def fresh_state(shell: InteractiveShell) -> NotebookState:
    """Unload (stops sessions, like a kernel shutdown) and load again: a new notebook state."""
    shell.run_line_magic("unload_ext", "fabric_livy_magics")
    shell.run_line_magic("load_ext", "fabric_livy_magics")
    state = state_of(shell)
    shell.run_line_magic("config", "LivyMagics.progress_delay = 60")  # no progress lines in outputs
    return state


def live_ids(url: str) -> set[Any]:
    with LivyClient(url) as client:
        return {s.id for s in client.iter_sessions() if not s.has_failed}
