"""Frozen settings the notebook layer hands to the session: plain values, never the magics object.

``MagicSettings`` is a snapshot of the ``LivyMagics`` traits taken at each call, so the core sees
one consistent set of values; ``SessionOptions`` is what ``%livy connect`` asked for; ``Target`` is
where sessions live and how to sign in there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fabric_livy_magics.endpoints import Endpoint, FabricEndpoint

__all__ = [
    "KINDS",
    "MagicSettings",
    "SessionOptions",
    "Target",
    "env_bool",
    "env_float",
    "env_int",
    "looks_secret",
    "mask",
]

#: Statement kinds a cell may use (``-l``), as Livy and Fabric spell them.
KINDS = ("pyspark", "sql", "spark", "sparkr")

_SECRET_WORDS = re.compile(r"(secret|password|passwd|token|credential|sas|apikey|api_key|private)",
                           re.IGNORECASE)


def looks_secret(name: str) -> bool:
    """True for setting names that usually hold a secret (``...password``, ``...token``)."""
    return bool(_SECRET_WORDS.search(name))


def mask(name: str, value: Any) -> str:
    """``value`` as text, or ``****`` when ``name`` looks like a secret."""
    if value is None:
        return "-"
    return "****" if looks_secret(name) else str(value)


def env_float(names: tuple[str, ...], default: float) -> float:
    """The first of ``names`` set in the environment as a float; ``default`` if none or unreadable."""
    for name in names:
        raw = os.environ.get(name, "").strip()
        if raw:
            try:
                return float(raw)
            except ValueError:
                return default
    return default


def env_int(names: tuple[str, ...], default: int) -> int:
    value = env_float(names, float(default))
    return int(value)


def env_bool(names: tuple[str, ...], default: bool) -> bool:
    for name in names:
        raw = os.environ.get(name, "").strip().lower()
        if raw:
            return raw in ("1", "true", "yes", "on")
    return default


@dataclass(frozen=True)
class MagicSettings:
    """The traits of ``LivyMagics`` at one moment (see the README for each one's meaning)."""

    maxrows: int = 2500
    default_kind: str = "pyspark"
    statement_timeout: float | None = None
    session_start_timeout: float = 900.0
    keepalive_interval: float = 300.0
    auto_local: bool = True
    progress_delay: float = 1.0
    local_master: str = "local[2]"


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
