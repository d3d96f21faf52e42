"""The records the session registry keeps: a session, its REPLs and their statements.

Plain mutable dataclasses; the registry (``sessions.py``) changes them under its lock and the
views (``views.py``) render them in either URL shape.
"""

from __future__ import annotations

import collections
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

from fabric_livy_magics.server.lifecycle import Tracked
from fabric_livy_magics.server.process import SessionProcess

__all__ = ["Repl", "Session", "Statement"]


#: Fields whose change wakes a waiting ``GET .../statements/{id}?wait=MS`` (``waiting.py``).
_WATCHED = frozenset({"state", "progress", "output"})


@dataclass
class Statement:
    id: int
    code: str
    kind: str
    source_id: str | None = None
    state: str = "waiting"
    output: dict[str, Any] | None = None
    progress: float = 0.0
    started: int = 0
    completed: int = 0
    #: Callbacks run (on the thread making the change) when a watched field changes.
    watchers: list[Callable[[], None]] = field(default_factory=list, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        changed = name in _WATCHED and getattr(self, name, value) != value
        object.__setattr__(self, name, value)
        if changed:
            for wake in list(self.watchers):
                wake()


@dataclass
class Repl:
    """A namespace in the session process with its own statement numbering."""

    key: str
    statements: dict[int, Statement] = field(default_factory=dict)
    next_id: int = 0


@dataclass
class Session(Tracked):
    id: int
    guid: str
    name: str | None
    kind: str | None
    owner: str | None
    proxy_user: str | None
    conf: dict[str, str]
    tags: dict[str, str]
    request: dict[str, Any]
    ttl: float | None
    hc_tag: str | None = None
    app_id: str | None = None
    spark_ui_url: str | None = None
    process: SessionProcess | None = None
    repls: dict[str, Repl] = field(default_factory=dict)
    queue: collections.deque[tuple[Repl, Statement]] = field(default_factory=collections.deque)
    running: tuple[Repl, Statement] | None = None
    last_activity: float = field(default_factory=time.monotonic)
    #: Completion requests sent to the process and not yet answered, by request id.
    completions: dict[str, Future[list[str]]] = field(default_factory=dict)
