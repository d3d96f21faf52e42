"""What ``%livy info`` shows about a notebook's session: a snapshot fetched from the server when
asked (``ManagedSession.info``), never cached."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fabric_livy_magics.errors import SessionNotFound
from fabric_livy_magics.livy.models import Session, SessionId, StatementTarget

if TYPE_CHECKING:
    from fabric_livy_magics.livy.client import LivyClient

__all__ = ["SessionInfo", "fetch_session_info"]


@dataclass(frozen=True)
class SessionInfo:
    """What ``%livy info`` shows: a snapshot, fetched from the server when asked."""

    session_id: SessionId
    state: str
    kind: str
    endpoint: str
    app_id: str | None
    spark_ui_url: str | None
    elapsed: float
    statements: int
    high_concurrency_id: str | None = None
    repl_id: str | None = None
    owned: bool = True


def fetch_session_info(client: LivyClient, target: StatementTarget, *, high_concurrency_id: str | None,
                       kind: str, elapsed: float, statements: int, owned: bool) -> SessionInfo:
    """Ask the server about ``target`` (and its high-concurrency REPL, if any); a session the
    server no longer knows is reported as ``gone``, not raised."""
    fresh: Session | None = None
    state = "unknown"
    try:
        if high_concurrency_id is not None:
            hc = client.get_high_concurrency_session(high_concurrency_id)
            state = hc.phase
            fresh = client.get_session(hc.session_id) if hc.session_id else None
        else:
            fresh = client.get_session(target.session_id)
            state = fresh.phase
    except SessionNotFound:
        state = "gone"
    ui = None
    if fresh is not None:
        ui = fresh.app_info.get("sparkUiUrl") or fresh.extra.get("sparkUiUrl")
    return SessionInfo(
        session_id=target.session_id, state=state, kind=kind, endpoint=client.endpoint.root,
        app_id=fresh.app_id if fresh is not None else None, spark_ui_url=str(ui) if ui else None,
        elapsed=elapsed, statements=statements, high_concurrency_id=high_concurrency_id,
        repl_id=target.repl_id, owned=owned)
