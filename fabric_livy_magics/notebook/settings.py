"""The notebook's settings as one frozen snapshot of the ``LivyMagics`` traits.

The library never sees the magics object: commands take this snapshot at each call, so the core
sees one consistent set of values.
"""

from __future__ import annotations

from dataclasses import dataclass

from fabric_livy_magics.livy.targets import DEFAULT_LOCAL_MASTER

__all__ = ["MagicSettings"]


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
    local_master: str = DEFAULT_LOCAL_MASTER
