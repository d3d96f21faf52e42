"""The project's kernel for real (jupyter_client): eager start after connect, two named sessions
on two servers used alternately, re-attach after a real kernel restart with the remote variables
intact, and a real shutdown that deletes the sessions and forgets them."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel
from sessions_helpers import live_ids

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.notebook.kernelspec import install_kernel, uninstall_kernel
from tests.kernel_cells import execute

pytestmark = pytest.mark.timeout(600)

KERNEL_NAME = "fabric-livy-sessions-tests"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kernel-cache")


@pytest.fixture(scope="module")
def kernel(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    install_kernel(KERNEL_NAME, prefix=sys.prefix)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FABRIC_LIVY_", "FABRIC_WORKSPACE", "LIVY_URL"))}
    env["XDG_CACHE_HOME"] = str(cache_dir)  # the remembered sessions of this test only
    manager, client = start_new_kernel(kernel_name=KERNEL_NAME, startup_timeout=120, env=env,
                                       cwd=str(tmp_path_factory.mktemp("kernel-cwd")))
    try:
        yield manager, client
    finally:
        client.stop_channels()
        if manager.is_alive():
            manager.shutdown_kernel(now=True)
        uninstall_kernel(KERNEL_NAME)




def _session_id(client: Any, name: str = "") -> int:
    text = execute(client, f"%livy status{' -s ' + name if name else ''}")["text"]
    return int(re.match(r"Session (\d+):", text).group(1))  # type: ignore[union-attr]


def _wait_idle(url: str, known: set[Any], timeout: float = 120) -> Any:
    """The one session created since ``known``, once the server says it is idle."""
    deadline = time.monotonic() + timeout
    with LivyClient(url) as server:
        while time.monotonic() < deadline:
            # sessions other tests left ending on the shared server are not this one
            new = [s for s in server.iter_sessions() if s.id not in known and str(s.state) == "idle"]
            if new:
                return new[-1].id
            time.sleep(0.2)
    raise AssertionError("the background start did not finish")


def _wait_status_up(client: Any, timeout: float = 60) -> None:
    """Until the kernel's own ``%livy status`` no longer says the background start runs."""
    deadline = time.monotonic() + timeout
    while "starting in the background" in execute(client, "%livy status")["text"]:
        assert time.monotonic() < deadline, "the background start did not end"
        time.sleep(0.2)


def test_eager_start_then_named_sessions_then_restart_reattaches(
        kernel: Any, livy_server: Any, other_server: Any, cache_dir: Path) -> None:
    manager, client = kernel
    before = live_ids(livy_server.url)
    connected = execute(client, f"%livy connect --url {livy_server.url}")
    assert connected["status"] == "ok", connected
    assert "starting in the background" in connected["text"]

    # eager start: once `%livy status` says the session is up, the first cell costs a statement only
    default_id = _wait_idle(livy_server.url, before)
    _wait_status_up(client)
    started = time.monotonic()
    first = execute(client, "import os\nreattach_value = 41\nwho = 'default'")
    first_seconds = time.monotonic() - started
    assert first["status"] == "ok", first
    started = time.monotonic()
    assert execute(client, "who")["status"] == "ok"
    second_seconds = time.monotonic() - started
    print(f"first cell after eager start {first_seconds:.2f} s, next cell {second_seconds:.2f} s")
    assert first_seconds < second_seconds + 1.0, (first_seconds, second_seconds)  # no start paid
    assert _session_id(client) == default_id

    # a named session on the other server, used alternately with the default one
    made = execute(client, f"%livy connect -s other --url {other_server.url} --lazy")
    assert "Session 'other': connected" in made["text"], made
    assert execute(client, "%%livy -s other\nimport os\nwho = 'other'")["status"] == "ok"
    for _ in range(2):
        assert execute(client, "print(who)")["text"] == "default\n"
        assert execute(client, "%%livy -s other\nprint(who)")["text"] == "other\n"
    other_id = _session_id(client, "other")
    assert other_id in live_ids(other_server.url)
    unknown = execute(client, "%%livy -s nosuch\nprint(who)")
    assert unknown["status"] == "error" and "UsageError: No session named 'nosuch'" in unknown["text"], unknown

    memory = json.loads((cache_dir / "fabric-livy-magics" / "sessions.json").read_text())
    [sessions] = memory["notebooks"].values()
    assert {name: s["session_id"] for name, s in sessions.items()} == {"": str(default_id), "other": str(other_id)}
    assert not any(re.search(r"token|secret|password", key, re.I) for s in sessions.values() for key in s)

    # a real restart: the sessions stay, and the first cells re-attach to them
    manager.restart_kernel(now=False)
    client.wait_for_ready(timeout=120)
    after = execute(client, "print(reattach_value + 1)")
    assert after["status"] == "ok", after
    assert after["text"].endswith("42\n"), after["text"]
    assert f"Re-attached to session {default_id}" in after["text"] and "%livy restart" in after["text"]
    named = execute(client, "%%livy -s other\nprint(who)")
    assert named["text"].endswith("other\n") and f"re-attached to session {other_id}" in named["text"], named
    assert _session_id(client) == default_id and _session_id(client, "other") == other_id
    assert live_ids(livy_server.url) - before == {default_id}  # nothing new was started

    # a real shutdown deletes them and forgets them
    manager.shutdown_kernel(now=False)
    assert default_id not in live_ids(livy_server.url) and other_id not in live_ids(other_server.url)
    memory = json.loads((cache_dir / "fabric-livy-magics" / "sessions.json").read_text())
    assert not memory["notebooks"]


def test_kernel_with_a_configured_target_starts_the_session_at_start_up(
        livy_server: Any, tmp_path: Path) -> None:
    install_kernel(KERNEL_NAME, prefix=sys.prefix)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FABRIC_LIVY_", "FABRIC_WORKSPACE", "LIVY_URL"))}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), FABRIC_LIVY_URL=livy_server.url)
    before = live_ids(livy_server.url)
    manager, client = start_new_kernel(kernel_name=KERNEL_NAME, startup_timeout=120, env=env, cwd=str(tmp_path))
    try:
        session_id = _wait_idle(livy_server.url, before)  # no cell has run yet
        _wait_status_up(client)
        started = time.monotonic()
        first = execute(client, "print('first')")
        seconds = time.monotonic() - started
        assert first["text"] == "first\n", first
        assert seconds < 2.0, seconds  # a statement, not a start
        assert _session_id(client) == session_id
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)
        uninstall_kernel(KERNEL_NAME)
    assert session_id not in live_ids(livy_server.url)
