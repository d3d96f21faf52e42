"""Where sessions run and how they are created: ``Target`` and ``SessionOptions``.

``SessionOptions`` is what the person asked for (``%livy connect`` or the command line's options);
``Target`` is where sessions live and how requests are signed there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fabric_livy_magics.livy.endpoints import Endpoint, FabricEndpoint

__all__ = ["KINDS", "SessionOptions", "Target"]

#: Statement kinds a cell may use (``-l``), as Livy and Fabric spell them.
KINDS = ("pyspark", "sql", "spark", "sparkr")


@dataclass(frozen=True)
class SessionOptions:
    """What the session is created with (``%livy connect`` options)."""

    kind: str = "pyspark"
    name: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)
    environment_id: str | None = None
    high_concurrency: bool = False
    tag: str | None = None
    keep: bool = False


@dataclass(frozen=True)
class Target:
    """Where the notebook's session lives and how requests are signed.

    ``auth_method`` is None when no Authorization header is sent. ``token_provider`` is the
    object that hands out tokens (its repr never shows one). ``description`` is for people.
    """

    endpoint: Endpoint
    description: str
    auth_method: str | None = None
    token_provider: Any = field(default=None, repr=False, compare=False)
    local_server: Any = field(default=None, repr=False, compare=False)

    @property
    def is_fabric(self) -> bool:
        return isinstance(self.endpoint, FabricEndpoint)
