"""A real IPython shell with the extension loaded, connected to the local server (Livy shape).

The module-scoped ``notebook`` fixture connects afresh, so each test module has its own remote
session (started by the first cell that needs one) and leaves none behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.notebook.commands.cell import state_of
from fabric_livy_magics.notebook.commands.state import NotebookState


def fresh(shell: InteractiveShell) -> NotebookState:
    """Unload (stops the session, like kernel shutdown) and load again: a fresh notebook."""
    shell.run_line_magic("unload_ext", "fabric_livy_magics")
    shell.run_line_magic("load_ext", "fabric_livy_magics")
    return state_of(shell)


@pytest.fixture(scope="module")
def notebook(shell: InteractiveShell, livy_server: Any) -> Iterator[NotebookState]:
    fresh(shell)
    shell.run_line_magic("livy", f"connect --url {livy_server.url}")
    yield state_of(shell)
    fresh(shell)


@pytest.fixture(scope="session")
def server_client(livy_server: Any) -> Iterator[LivyClient]:
    with LivyClient(livy_server.url) as client:
        yield client
