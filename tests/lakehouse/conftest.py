"""One notebook-like IPython shell with the extension, connected to the local server; its one
remote session is shared by every test in this folder (started by the first test that needs it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.notebook.commands.cell import state_of


def reload_extension(shell: InteractiveShell) -> Any:
    """Unload (stops the session) and load again: a fresh notebook state."""
    shell.run_line_magic("unload_ext", "fabric_livy_magics")
    shell.run_line_magic("load_ext", "fabric_livy_magics")
    return state_of(shell)


@pytest.fixture(scope="session")
def notebook(shell: InteractiveShell, livy_server: Any) -> Iterator[Any]:
    """Connected to the server's Livy shape, the session started: every test here shares it."""
    state = reload_extension(shell)
    shell.run_line_magic("livy", f"connect --url {livy_server.url} --name lakehouse-tests")
    state.get_session().ensure()
    yield state
    reload_extension(shell)


@pytest.fixture(scope="session")
def server_client(livy_server: Any) -> Iterator[LivyClient]:
    """Looks at the server behind the magics' back (statement counts)."""
    with LivyClient(livy_server.url) as client:
        yield client


@pytest.fixture()
def statements(notebook: Any, server_client: LivyClient) -> Any:
    """``statements()``: the id of the session's latest statement (-1 before the first)."""
    session_id = notebook.session.session_id
    return lambda: max((s.id for s in server_client.list_statements(session_id)), default=-1)
