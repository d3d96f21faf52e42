"""Server-wide settings, read once from ``fabric-livy serve``'s options."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ServerConfig"]


@dataclass(frozen=True)
class ServerConfig:
    """Server-wide settings from ``fabric-livy serve``."""

    master: str = "local[*]"
    session_ttl: float | None = None
    max_sessions: int = 8
    spark_conf: dict[str, str] = field(default_factory=dict)
    sql_max_rows: int = 1000
    stop_grace: float = 10.0
