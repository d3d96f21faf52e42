"""Eager start and re-attach in a real shell against the local server: a background start that
the first cell finds ready or whose error it raises in one line; sessions left by a restart are
re-attached with their variables, dropped silently when they ended, never used with
FABRIC_LIVY_REATTACH=never."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from IPython.utils.capture import capture_output
from sessions_helpers import fresh_state, live_ids

from fabric_livy_magics.errors import LivyError
from fabric_livy_magics.livy.client import LivyClient

pytestmark = pytest.mark.timeout(300)


def _wait_started(shell: Any, name: str = "", timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with capture_output() as cap:
            shell.run_line_magic("livy", "status" + (f" -s {name}" if name else ""))
        if "starting in the background" not in cap.stdout:
            return
        assert time.monotonic() < deadline, cap.stdout
        time.sleep(0.2)


def test_eager_connect_starts_in_the_background(shell: Any, livy_server: Any) -> None:
    fresh_state(shell)
    with capture_output() as cap:
        shell.run_line_magic("livy", f"connect -s eager --url {livy_server.url} --eager")
    assert "is starting in the background; the first cell waits for it if needed" in cap.stdout
    _wait_started(shell, "eager")
    started = time.monotonic()
    with capture_output() as cap:
        shell.run_cell_magic("livy", "-s eager", "print('ready')")
    first = time.monotonic() - started
    assert cap.stdout == "ready\n"
    assert first < 2.0, first  # a statement, not a Spark start (4-8 s here)


def test_a_failed_background_start_surfaces_on_the_first_cell_in_one_line(shell: Any, livy_server: Any) -> None:
    fresh_state(shell)
    shell.run_line_magic("livy", f"connect --url {livy_server.url} --eager --conf livy.rsc.sql.num-rows=many")
    with pytest.raises(LivyError) as info:
        shell.run_cell_magic("livy", "", "print('never')")
    [line] = info.value._render_traceback_()
    assert "livy.rsc.sql.num-rows" in line and "\n" not in line


def _memory(cache: Path) -> dict[str, Any]:
    [sessions] = json.loads((cache / "fabric-livy-magics" / "sessions.json").read_text())["notebooks"].values()
    return sessions


def test_a_restart_leaves_the_session_and_the_next_state_reattaches(shell: Any, livy_server: Any,
                                                                   private_cache: Path) -> None:
    state = fresh_state(shell)
    shell.run_line_magic("livy", f"connect --url {livy_server.url} --lazy")
    shell.run_cell_magic("livy", "-q", "kept_across = 'still here'")
    session_id = state.session.session_id
    assert _memory(private_cache)[""]["session_id"] == str(session_id)

    state.shutdown(restart=True)  # what the kernel does on a restart
    assert session_id in live_ids(livy_server.url)
    state = fresh_state(shell)  # the restarted kernel: nothing connected yet
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "print(kept_across)")
    assert cap.stdout.endswith("still here\n")
    assert f"Re-attached to session {session_id} (idle)" in cap.stdout and "`%livy restart` starts" in cap.stdout
    assert state.session.session_id == session_id and state.session.owned

    fresh_state(shell)  # a real shutdown: its own session is deleted and forgotten
    assert session_id not in live_ids(livy_server.url)
    assert "" not in _memory_or_empty(private_cache)


def test_an_ended_remembered_session_is_dropped_silently(shell: Any, livy_server: Any, private_cache: Path) -> None:
    state = fresh_state(shell)
    shell.run_line_magic("livy", f"connect --url {livy_server.url} --lazy")
    shell.run_cell_magic("livy", "-q", "x = 1")
    gone = state.session.session_id
    state.shutdown(restart=True)
    with LivyClient(livy_server.url) as server:
        server.delete_session(gone)
    state = fresh_state(shell)
    shell.run_line_magic("livy", f"connect --url {livy_server.url} --lazy")
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "print('fresh')")
    assert cap.stdout == "fresh\n"  # no word about the ended one
    assert state.session.session_id != gone
    assert _memory(private_cache)[""]["session_id"] == str(state.session.session_id)
    fresh_state(shell)


def test_never_deletes_at_restart_and_does_not_reattach(shell: Any, livy_server: Any, private_cache: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FABRIC_LIVY_REATTACH", "never")
    state = fresh_state(shell)
    shell.run_line_magic("livy", f"connect --url {livy_server.url} --lazy")
    shell.run_cell_magic("livy", "-q", "x = 1")
    session_id = state.session.session_id
    state.shutdown(restart=True)
    assert session_id not in live_ids(livy_server.url)
    assert "" not in _memory_or_empty(private_cache)


def _memory_or_empty(cache: Path) -> dict[str, Any]:
    path = cache / "fabric-livy-magics" / "sessions.json"
    if not path.exists():
        return {}
    notebooks = json.loads(path.read_text())["notebooks"]
    return next(iter(notebooks.values()), {})


def test_stop_during_a_background_start_deletes_that_session_once_up(shell: Any, livy_server: Any) -> None:
    import threading

    fresh_state(shell)
    before = live_ids(livy_server.url)
    shell.run_line_magic("livy", f"connect -s brief --url {livy_server.url} --eager")
    with capture_output() as cap:
        shell.run_line_magic("livy", "stop -s brief")  # returns at once: the start is not waited for
    assert "deleted as soon as it is up" in cap.stdout
    for thread in [t for t in threading.enumerate() if t.name == "fabric-livy-eager-start"]:
        thread.join(timeout=120)
    assert live_ids(livy_server.url) == before
    with capture_output() as cap:
        shell.run_cell_magic("livy", "-s brief", "print('new one')")  # the name starts afresh
    assert cap.stdout == "new one\n"
    fresh_state(shell)


def test_no_background_start_when_signing_in_would_prompt(shell: Any, livy_server: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A device code printed by a thread would be seen by nobody: the first cell starts it."""
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    monkeypatch.setenv("AZURE_TENANT_ID", "11111111-2222-3333-4444-555555555555")
    state = fresh_state(shell)
    url = livy_server.fabric_url("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "4d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a")
    with capture_output() as cap:
        shell.run_line_magic("livy", f"connect --url {url}/sessions --auth device-code --eager")
    assert "starts on the first %%livy cell" in cap.stdout
    assert state.slot.starter is None and state.session is None
    fresh_state(shell)
