"""The remembered-sessions file: what it keeps (no secrets), and that an unreadable or foreign
file is read as empty instead of failing a cell."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from fabric_livy_magics.livy.session_memory import RememberedSession, SessionMemory, default_memory_path


def test_the_file_lives_in_the_cache_dir_and_is_the_owners_only(private_cache: Path) -> None:
    memory = SessionMemory()
    assert memory.path == default_memory_path() == private_cache / "fabric-livy-magics" / "sessions.json"
    memory.remember("cwd:/nb", "fab", RememberedSession(url="https://h/x", session_id="7", auth_method="interactive"))
    assert stat.S_IMODE(os.stat(memory.path).st_mode) == 0o600
    saved = json.loads(memory.path.read_text())["notebooks"]["cwd:/nb"]["fab"]
    assert set(saved) == {"url", "session_id", "kind", "auth_method", "keep", "owned", "saved_at", "holder_pid"}
    assert memory.recall("cwd:/nb", "fab").session_id == "7" and memory.names("cwd:/nb") == ["fab"]
    memory.forget("cwd:/nb", "fab")
    assert memory.recall("cwd:/nb", "fab") is None
    assert json.loads(memory.path.read_text())["notebooks"] == {}


def test_a_broken_or_foreign_file_reads_as_empty_and_is_replaced(private_cache: Path) -> None:
    memory = SessionMemory()
    memory.path.parent.mkdir(parents=True)
    for text in ("{not json", "[1, 2]", '{"notebooks": {"k": {"n": {"url": 3}}}}'):
        memory.path.write_text(text)
        assert memory.recall("k", "n") is None and memory.names("nope") == []
    memory.remember("k", "m", RememberedSession(url="http://127.0.0.1:1", session_id="0"))
    assert memory.recall("k", "m") is not None


def test_a_session_another_live_kernel_holds_is_not_taken_over(tmp_path: Any) -> None:
    """Two notebooks in one folder (no file named by the frontend) share a key: the session of
    the one still running is not "left over" for the other; a dead holder's session is."""
    import subprocess
    import sys

    from fabric_livy_magics.livy.session_memory import RememberedSession, SessionMemory
    from fabric_livy_magics.notebook.commands.reattach import Reattacher

    memory = SessionMemory(tmp_path / "sessions.json")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        reattach = Reattacher(shell=type("Shell", (), {"user_ns": {}})(), memory=memory)
        key = reattach.key()
        memory.remember(key, "", RememberedSession(url="http://127.0.0.1:9", session_id="3", holder_pid=other.pid))
        assert reattach._recall(key, "") is None
    finally:
        other.kill()
        other.wait()
    assert reattach._recall(key, "").session_id == "3"  # its kernel is gone: left over, re-attachable
