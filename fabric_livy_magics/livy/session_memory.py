"""Which sessions a notebook holds, remembered across kernel restarts in a small JSON file.

The file is ``$XDG_CACHE_HOME/fabric-livy-magics/sessions.json`` (``~/.cache/...`` when the
variable is not set). It maps a notebook (its file path where the frontend names it, else the
kernel's working directory) to its sessions by name: the server's URL, the session id, the kind,
the sign-in *method* and whether the session is kept. No token, secret or code is ever stored.
Entries older than a week are dropped on the next write (Fabric ends idle sessions after 20
minutes; a Livy server's may live longer, but not forgotten for weeks).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["MAX_AGE_SECONDS", "RememberedSession", "SessionMemory", "default_memory_path"]

MAX_AGE_SECONDS = 7 * 24 * 3600
_VERSION = 1


def default_memory_path() -> Path:
    """``$XDG_CACHE_HOME/fabric-livy-magics/sessions.json``, else under ``~/.cache``."""
    root = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(root) if root else Path.home() / ".cache"
    return base / "fabric-livy-magics" / "sessions.json"


@dataclass(frozen=True)
class RememberedSession:
    """One session a notebook holds: where it is and how it was made (never how to sign in)."""

    url: str
    session_id: str
    kind: str = "pyspark"
    auth_method: str | None = None
    keep: bool = False
    owned: bool = True
    saved_at: float = 0.0
    #: The process (kernel) that holds the session now: while it lives, no other kernel in the
    #: same folder or notebook takes the session over.
    holder_pid: int = 0

    @classmethod
    def from_json(cls, data: Any) -> RememberedSession | None:
        """None for anything that is not an entry this version wrote (a hand-edited file)."""
        if not isinstance(data, dict) or not isinstance(data.get("url"), str) or data.get("session_id") is None:
            return None
        auth = data.get("auth_method")
        return cls(url=data["url"], session_id=str(data["session_id"]), kind=str(data.get("kind") or "pyspark"),
                   auth_method=auth if isinstance(auth, str) else None, keep=data.get("keep") is True,
                   owned=data.get("owned") is not False, saved_at=float(data.get("saved_at") or 0.0),
                   holder_pid=data["holder_pid"] if isinstance(data.get("holder_pid"), int) else 0)


class SessionMemory:
    """Read and write the file; every write re-reads it first (several kernels share it)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        """The given path, else the default one as the environment says now."""
        return self._path or default_memory_path()

    def recall(self, notebook: str, name: str) -> RememberedSession | None:
        entry = self._read().get(notebook, {}).get(name)
        return RememberedSession.from_json(entry)

    def names(self, notebook: str) -> list[str]:
        return sorted(self._read().get(notebook, {}))

    def remember(self, notebook: str, name: str, session: RememberedSession) -> None:
        with self._changing() as notebooks:
            saved = asdict(session)
            saved["saved_at"] = time.time()
            notebooks.setdefault(notebook, {})[name] = saved

    def forget(self, notebook: str, name: str) -> None:
        if self.recall(notebook, name) is None:
            return
        with self._changing() as notebooks:
            notebooks.get(notebook, {}).pop(name, None)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        notebooks = data.get("notebooks") if isinstance(data, dict) else None
        if not isinstance(notebooks, dict):
            return {}
        return {key: value for key, value in notebooks.items() if isinstance(value, dict)}

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, dict[str, Any]]]:
        """Read, let the caller change, drop stale entries, write atomically (owner-only file)."""
        notebooks = self._read()
        yield notebooks
        cutoff = time.time() - MAX_AGE_SECONDS
        kept = {key: {name: entry for name, entry in sessions.items()
                      if isinstance(entry, dict) and float(entry.get("saved_at") or 0) >= cutoff}
                for key, sessions in notebooks.items()}
        kept = {key: sessions for key, sessions in kept.items() if sessions}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"version": _VERSION, "notebooks": kept}, handle, indent=1, sort_keys=True)
            os.replace(temp, self.path)
        except OSError:
            pass  # a read-only home: re-attach is a convenience, never a reason for a cell to fail
