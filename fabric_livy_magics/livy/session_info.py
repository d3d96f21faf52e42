"""What ``%livy info`` shows about a notebook's session: a snapshot fetched from the server when
asked (``ManagedSession.info``), never cached."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fabric_livy_magics.errors import LivyError, SessionNotFound
from fabric_livy_magics.livy.models import Session, SessionId, StatementTarget

if TYPE_CHECKING:
    from fabric_livy_magics.livy.client import LivyClient

__all__ = ["FABRIC_IDLE_MINUTES", "IDLE_NOTE_MINUTES", "SessionInfo", "Usage", "capacity_usage",
           "fetch_session_info", "idle_note", "idle_seconds"]

#: Fabric ends a session idle this long (reset-timeout, the keep-alive, moves the end).
FABRIC_IDLE_MINUTES = 20
#: After this many idle minutes without keep-alive, say that it bills and will end.
IDLE_NOTE_MINUTES = 15


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
    usage: Usage | None = None
    idle: float | None = None


@dataclass(frozen=True)
class Usage:
    """Spark vCores and executors of a session, and the capacity it used so far (Fabric bills
    1 capacity unit per 2 Spark vCores while the session is active, not while it is acquired)."""

    vcores: int
    executors: int
    active_seconds: float
    source: str  # where the vCores came from: "request" or "Spark executors"

    @property
    def cu_seconds(self) -> float:
        return self.vcores / 2 * self.active_seconds

    def text(self) -> str:
        cu_hours = self.cu_seconds / 3600
        return (f"{self.vcores} vCores ({self.executors} executor(s), from the {self.source}); "
                f"≈ {self.cu_seconds:,.0f} CU-seconds ({cu_hours:.2f} CU-hours) over "
                f"{self.active_seconds / 60:.1f} min active")


def _when(value: Any) -> _dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.UTC)


_ENDED_AT = ("deadAt", "killedAt", "errorAt", "successAt", "shuttingDownAt")


def _active_seconds(livy_info: Mapping[str, Any], now: _dt.datetime, fallback: float) -> float:
    """Seconds since Spark started (``livyInfo.startingAt``, else ``idleAt``): Fabric bills from
    there, not while queued or acquiring. ``fallback`` when the answer has no times (Livy)."""
    start = _when(livy_info.get("startingAt")) or _when(livy_info.get("idleAt"))
    if start is None:
        return fallback
    ends = [t for t in (_when(livy_info.get(key)) for key in _ENDED_AT) if t is not None]
    return max(0.0, ((min(ends) if ends else now) - start).total_seconds())


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def capacity_usage(session: Session, executors: Any = None, *, elapsed: float,
                   now: _dt.datetime | None = None) -> Usage | None:
    """vCores from the session request (driver + executor cores x executors, in its fields or
    conf), else from Spark's executor list; None when neither tells."""
    now = now or _dt.datetime.now(_dt.UTC)
    livy_info = session.livy_info if isinstance(session.livy_info, dict) else {}
    request = livy_info.get("jobCreationRequest")
    request = request if isinstance(request, dict) else {}
    conf = request.get("conf") if isinstance(request.get("conf"), dict) else {}
    driver = _int(request.get("driverCores")) or _int(conf.get("spark.driver.cores"))
    per_executor = _int(request.get("executorCores")) or _int(conf.get("spark.executor.cores"))
    count = _int(request.get("numExecutors")) or _int(conf.get("spark.executor.instances"))
    active = _active_seconds(livy_info, now, elapsed)
    if driver and per_executor and count:
        return Usage(driver + per_executor * count, count, active, "request")
    if executors:
        live = [e for e in executors if e.is_active is not False]
        workers = [e for e in live if e.executor_id != "driver"]
        cores = sum(e.total_cores for e in live)
        if cores:
            return Usage(cores, len(workers), active, "Spark executors")
    return None


def idle_seconds(session: Session, now: _dt.datetime | None = None) -> float | None:
    """How long an idle session has been idle (``livyInfo.idleAt``); None if busy or unknown."""
    if str(session.state) != "idle":
        return None
    since = _when(session.livy_info.get("idleAt")) if isinstance(session.livy_info, dict) else None
    if since is None:
        return None
    return max(0.0, ((now or _dt.datetime.now(_dt.UTC)) - since).total_seconds())


def idle_note(session_id: Any, idle: float | None, *, keepalive: bool, is_fabric: bool) -> str | None:
    """One line once a Fabric session without keep-alive has been idle 15 of its 20 minutes."""
    if not is_fabric or keepalive or idle is None or idle < IDLE_NOTE_MINUTES * 60:
        return None
    left = max(0, FABRIC_IDLE_MINUTES - int(idle // 60))
    return (f"Session {session_id} has been idle {idle / 60:.0f} min: it is billed while idle and Fabric "
            f"ends it in about {left} min (after {FABRIC_IDLE_MINUTES} min idle). Keep-alive is off: "
            "`%config LivyMagics.keepalive_interval = 300` keeps it, any cell resets the clock.")


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
    usage = idle = None
    if fresh is not None:
        executors = None
        if fresh.app_id and client.monitoring.available:
            try:
                executors = client.monitoring.list_executors(fresh.id, fresh.app_id)
            except LivyError:
                executors = None  # no monitoring here: the request may still tell
        usage = capacity_usage(fresh, executors, elapsed=elapsed)
        idle = idle_seconds(fresh)
    ui = None
    if fresh is not None:
        ui = fresh.app_info.get("sparkUiUrl") or fresh.extra.get("sparkUiUrl")
    return SessionInfo(
        session_id=target.session_id, state=state, kind=kind, endpoint=client.endpoint.root,
        app_id=fresh.app_id if fresh is not None else None, spark_ui_url=str(ui) if ui else None,
        elapsed=elapsed, statements=statements, high_concurrency_id=high_concurrency_id,
        repl_id=target.repl_id, owned=owned, usage=usage, idle=idle)
