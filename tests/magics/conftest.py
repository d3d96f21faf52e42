"""A real IPython shell with the extension loaded, and a client to look at the server directly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fabric_livy_magics.livy.client import LivyClient


@pytest.fixture(scope="session")
def server_client(livy_server: Any) -> Iterator[LivyClient]:
    """Looks at the server behind the magics' back (Livy shape)."""
    with LivyClient(livy_server.url) as client:
        yield client
