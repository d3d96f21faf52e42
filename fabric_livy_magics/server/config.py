"""Server-wide settings, read once from ``fabric-livy serve``'s options."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TOKEN_ENV", "ServerConfig"]

#: Where ``fabric-livy serve`` also reads its bearer token (kept off the command line, where `ps` shows it).
TOKEN_ENV = "FABRIC_LIVY_SERVE_TOKEN"


@dataclass(frozen=True)
class ServerConfig:
    """Server-wide settings from ``fabric-livy serve``."""

    master: str = "local[*]"
    session_ttl: float | None = None
    max_sessions: int = 8
    spark_conf: dict[str, str] = field(default_factory=dict)
    sql_max_rows: int = 1000
    stop_grace: float = 10.0
    #: Pre-started session processes kept ready (``--warm``; ``warm_pool.py``); 0 starts every session fresh.
    warm: int = 0
