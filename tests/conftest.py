"""Shared fixtures: the local Livy-compatible server on a free loopback port, a clean environment."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from fabric_livy_magics.server.launcher import RunningServer, start_server

# What the package keeps in the user's cache dir (remembered sessions, the shared local server's
# files) goes to a folder of this run: the suite neither reads a person's nor leaves its own.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="fabric-livy-tests-cache-")


@pytest.fixture(scope="session")
def livy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One real server (real PySpark sessions) for the whole run; stopped, with its sessions, at the end.

    ``.url`` is the Livy-shaped base; ``.fabric_url(ws, lh)`` the Fabric-shaped one. Its log is in
    ``.log_path``.

    No pre-started processes (``warm=0``): the suite's sessions are mostly session-scoped and
    started together at the beginning, where a pool of one saves a single start, while it would
    hold one more Spark process (~1 GiB) for the whole run and start another after every create.
    The pool has its own tests (``tests/server/test_warm_pool.py``).
    """
    log_path = tmp_path_factory.mktemp("livy-server") / "server.log"
    server = start_server(port=0, master="local[2]", log_path=log_path, warm=0, extra_args=("--max-sessions", "16"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _restore_environ() -> Iterator[None]:
    """Every test gets the environment back as it found it."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def _restore_magic_settings() -> Iterator[None]:
    """``%config LivyMagics.x = ...`` made by a test does not outlive it.

    The shell is one per run; a setting a test put back "by value" still counts as set by
    ``%config`` and would beat a later test's ``FABRIC_LIVY_*`` variable. The live magics object
    keeps its value; the next load of the extension reads the config as this test found it.
    """
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    saved = dict(InteractiveShell.instance().config.get("LivyMagics", {})) \
        if InteractiveShell.initialized() else None
    yield
    if not InteractiveShell.initialized():
        return
    config = InteractiveShell.instance().config
    config.pop("LivyMagics", None)
    if saved:
        config.LivyMagics = Config(saved)


@pytest.fixture(scope="session")
def shell() -> Iterator[Any]:
    """The run's one IPython shell (history off) with the extension loaded.

    ``InteractiveShell.instance`` is a singleton: every test that drives magics shares it, and
    reloads the extension where it needs a fresh notebook state."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryAccessor.enabled = False
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "fabric_livy_magics")
    yield ip
    ip.run_line_magic("unload_ext", "fabric_livy_magics")
