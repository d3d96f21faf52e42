"""Named sessions, re-attach and eager start: a real shell, the shared local server and a second
one (two different servers, as a notebook with a Fabric and a local session has), and a private
cache directory so that remembered sessions never leak between tests or into the user's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fabric_livy_magics.server.launcher import RunningServer, start_server


@pytest.fixture(scope="session")
def other_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A second local server (its own port and Spark processes)."""
    log_path = tmp_path_factory.mktemp("other-server") / "server.log"
    server = start_server(port=0, master="local[1]", log_path=log_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Remembered sessions go to this test's own cache directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("FABRIC_LIVY_REATTACH", "FABRIC_LIVY_EAGER_START", "FABRIC_LIVY_URL", "LIVY_URL",
                 "FABRIC_LIVY_CONNECTION_STRING", "FABRIC_WORKSPACE_ID", "FABRIC_LAKEHOUSE_ID"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "cache"


