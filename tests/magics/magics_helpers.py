"""Helpers shared by the magics tests (imported by name: tests are not a package)."""

from __future__ import annotations

from IPython.core.interactiveshell import InteractiveShell

from fabric_livy_magics.notebook.commands.cell import state_of
from fabric_livy_magics.notebook.commands.state import NotebookState

WORKSPACE = "11111111-2222-3333-4444-555555555555"
LAKEHOUSE = "66666666-7777-8888-9999-aaaaaaaaaaaa"


def notebook(shell: InteractiveShell) -> NotebookState:
    return state_of(shell)


def reload_extension(shell: InteractiveShell) -> NotebookState:
    """Unload (stops the session, like kernel shutdown) and load again: a fresh notebook state."""
    shell.run_line_magic("unload_ext", "fabric_livy_magics")
    shell.run_line_magic("load_ext", "fabric_livy_magics")
    return state_of(shell)
