"""A real IPython shell with the extension loaded, and a client to look at the server directly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from fabric_livy_magics.livy.client import LivyClient


@pytest.fixture(scope="session")
def shell() -> Iterator[InteractiveShell]:
    """One shell for the run (history off); the extension is reloaded per module by ``fresh``."""
    config = Config()
    config.HistoryAccessor.enabled = False
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "fabric_livy_magics")
    yield ip
    ip.run_line_magic("unload_ext", "fabric_livy_magics")


@pytest.fixture(scope="session")
def server_client(livy_server: Any) -> Iterator[LivyClient]:
    """Looks at the server behind the magics' back (Livy shape)."""
    with LivyClient(livy_server.url) as client:
        yield client
