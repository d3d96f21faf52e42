"""Typed views of what a Livy or Fabric server answers.

JSON becomes one of these frozen dataclasses as soon as an HTTP call returns, so code above
``client.py`` never handles raw dicts. Parsing is tolerant, because two servers (Apache Livy and
Fabric's Livy API) and several versions speak slightly different dialects:

* optional fields may be missing (Fabric: *every* session field is optional),
* unknown fields are kept in ``extra``,
* states are compared case-insensitively (Fabric's spec has ``Error``) and unknown ones map to
  ``UNKNOWN`` instead of failing,
* a missing *required* field raises :class:`~fabric_livy_magics.errors.MalformedResponse` naming
  the URL that answered it.

State names follow Apache Livy's ``SessionState.scala`` / ``StatementState.scala`` and the Fabric
REST reference (``specs/fabric-livy-swagger.yaml``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping, Union

from fabric_livy_magics.errors import MalformedResponse, StatementCancelled, StatementFailed

__all__ = [
    "SessionId",
    "SessionState",
    "FabricAcquisitionState",
    "StatementState",
    "HighConcurrencyState",
    "SessionKind",
    "SESSION_STARTING_STATES",
    "SESSION_READY_STATES",
    "SESSION_FAILED_STATES",
    "SESSION_ENDED_STATES",
    "FABRIC_FAILED_STATES",
    "STATEMENT_FINISHED_STATES",
    "HC_FAILED_STATES",
    "ErrorInfo",
    "Session",
    "SessionPage",
    "SessionLog",
    "StatementOutput",
    "Output",
    "Statement",
    "StatementTarget",
    "HighConcurrencySession",
]

#: Apache Livy numbers sessions (int); Fabric names them with GUID strings.
SessionId = Union[int, str]


class _TolerantEnum(str, enum.Enum):
    """A string enum that matches case-insensitively and maps unknown values to ``UNKNOWN``."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            wanted = value.strip().lower().replace("-", "_")
            for member in cls:
                if member.value.lower() == wanted or member.value.lower().replace("_", "") == wanted:
                    return member
        return cls.__members__["UNKNOWN"]

    def __str__(self) -> str:  # "idle", not "SessionState.IDLE", in messages
        return self.value


class SessionState(_TolerantEnum):
    """Livy session states (Livy's SessionState.scala plus Fabric's additions)."""

    NOT_STARTED = "not_started"
    STARTING = "starting"
    RECOVERING = "recovering"
    IDLE = "idle"
    RUNNING = "running"
    BUSY = "busy"
    SHUTTING_DOWN = "shutting_down"
    ERROR = "error"
    DEAD = "dead"
    KILLED = "killed"
    SUCCESS = "success"
    SUBMITTING = "submitting"
    NOT_SUBMITTED = "not_submitted"
    UNKNOWN = "unknown"


class FabricAcquisitionState(_TolerantEnum):
    """Fabric's ``fabricSessionStateInfo.state``: what happens before Livy even sees the session."""

    QUEUED = "queued"
    LIBRARY_PACKAGING = "libraryPackaging"
    ACQUIRING_SESSION = "acquiringSession"
    SUBMITTING = "submitting"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    ERROR = "error"
    UNKNOWN = "unknown"


class StatementState(_TolerantEnum):
    """Statement states; Fabric spells the error state ``Error``."""

    WAITING = "waiting"
    RUNNING = "running"
    AVAILABLE = "available"
    ERROR = "error"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


class HighConcurrencyState(_TolerantEnum):
    """Fabric high-concurrency session states (PascalCase on the wire)."""

    NOT_STARTED = "NotStarted"
    ACQUIRING = "AcquiringHighConcurrencySession"
    IDLE = "Idle"
    DEAD = "Dead"
    KILLED = "Killed"
    FAILED = "Failed"
    DELETING = "Deleting"
    UNKNOWN = "Unknown"


class SessionKind(_TolerantEnum):
    """Interpreter of a session or statement. ``shared``: each statement names its own kind."""

    SPARK = "spark"
    PYSPARK = "pyspark"
    SPARKR = "sparkr"
    SQL = "sql"
    SHARED = "shared"
    UNKNOWN = "unknown"


SESSION_STARTING_STATES = frozenset(
    {SessionState.NOT_STARTED, SessionState.STARTING, SessionState.RECOVERING,
     SessionState.SUBMITTING, SessionState.NOT_SUBMITTED, SessionState.UNKNOWN}
)
SESSION_READY_STATES = frozenset({SessionState.IDLE, SessionState.BUSY, SessionState.RUNNING})
SESSION_FAILED_STATES = frozenset({SessionState.ERROR})
SESSION_ENDED_STATES = frozenset(
    {SessionState.DEAD, SessionState.KILLED, SessionState.SHUTTING_DOWN, SessionState.SUCCESS}
)
FABRIC_FAILED_STATES = frozenset(
    {FabricAcquisitionState.ERROR, FabricAcquisitionState.CANCELLED,
     FabricAcquisitionState.CANCELLING, FabricAcquisitionState.EXPIRED}
)
STATEMENT_FINISHED_STATES = frozenset(
    {StatementState.AVAILABLE, StatementState.ERROR, StatementState.CANCELLED}
)
HC_FAILED_STATES = frozenset(
    {HighConcurrencyState.DEAD, HighConcurrencyState.KILLED, HighConcurrencyState.FAILED,
     HighConcurrencyState.DELETING}
)


# --- parsing helpers -------------------------------------------------------------------------

def _require_dict(data: Any, what: str, url: str | None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise MalformedResponse(
            f"{url or 'The server'} answered {type(data).__name__} where a {what} object was "
            "expected. Check that the URL points at a Livy or Fabric Livy API endpoint."
        )
    return data


def _missing(field_name: str, what: str, url: str | None) -> MalformedResponse:
    return MalformedResponse(
        f"{url or 'The server'} answered a {what} without its '{field_name}' field. "
        "Check that the URL points at a Livy or Fabric Livy API endpoint."
    )


def _session_id(value: Any) -> SessionId:
    """Livy ids are ints (sometimes sent as digit strings); Fabric ids are GUID strings."""
    if isinstance(value, bool):
        raise TypeError("bool is not an id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        return int(text) if text.isdigit() else text
    raise TypeError(f"not an id: {value!r}")


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else (None if value is None else str(value))


def _opt_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(item) for item in value if item is not None)
    if isinstance(value, str):
        return tuple(value.splitlines())
    return ()


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _extra(data: Mapping[str, Any], known: set[str]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in known}


# --- sessions --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ErrorInfo:
    """One entry of Fabric's ``errorInfo[]``: branch on ``error_code``, show ``message``."""

    message: str | None = None
    error_code: str | None = None
    source: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> "ErrorInfo":
        data = data if isinstance(data, dict) else {"message": str(data)}
        return cls(message=_opt_str(data.get("message")), error_code=_opt_str(data.get("errorCode")),
                   source=_opt_str(data.get("source")))


_SESSION_FIELDS = {
    "id", "name", "state", "kind", "appId", "appInfo", "owner", "proxyUser", "log",
    "fabricSessionStateInfo", "livyInfo", "errorInfo", "tags", "submitterName",
}


@dataclass(frozen=True)
class Session:
    """A snapshot of an interactive session; ask ``LivyClient.get_session`` for a fresh one."""

    id: SessionId
    state: SessionState = SessionState.UNKNOWN
    name: str | None = None
    kind: SessionKind | None = None
    app_id: str | None = None
    app_info: dict[str, Any] = field(default_factory=dict)
    owner: str | None = None
    proxy_user: str | None = None
    log: tuple[str, ...] = ()
    fabric_state: FabricAcquisitionState | None = None
    fabric_error_message: str | None = None
    livy_info: dict[str, Any] = field(default_factory=dict)
    error_info: tuple[ErrorInfo, ...] = ()
    tags: dict[str, Any] = field(default_factory=dict)
    submitter_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "Session":
        data = _require_dict(data, "session", url)
        if data.get("id") is None:
            raise _missing("id", "session", url)
        try:
            session_id = _session_id(data["id"])
        except TypeError:
            raise _missing("id", "session", url) from None
        livy_info = _dict(data.get("livyInfo"))
        raw_state = data.get("state")
        if raw_state is None:
            # Early Fabric polls may carry no top-level state; livyInfo may still know it.
            raw_state = livy_info.get("currentState")
        fabric = data.get("fabricSessionStateInfo")
        fabric = fabric if isinstance(fabric, dict) else None
        kind = data.get("kind")
        return cls(
            id=session_id,
            state=SessionState(raw_state) if raw_state is not None else SessionState.UNKNOWN,
            name=_opt_str(data.get("name")),
            kind=SessionKind(kind) if kind is not None else None,
            app_id=_opt_str(data.get("appId")),
            app_info=_dict(data.get("appInfo")),
            owner=_opt_str(data.get("owner")),
            proxy_user=_opt_str(data.get("proxyUser")),
            log=_str_list(data.get("log")),
            fabric_state=(FabricAcquisitionState(fabric.get("state"))
                          if fabric and fabric.get("state") is not None else None),
            fabric_error_message=_opt_str(fabric.get("errorMessage")) if fabric else None,
            livy_info=livy_info,
            error_info=tuple(ErrorInfo.from_json(item) for item in data.get("errorInfo") or []
                             if item is not None),
            tags=_dict(data.get("tags")),
            submitter_name=_opt_str(data.get("submitterName")),
            extra=_extra(data, _SESSION_FIELDS),
        )

    @property
    def phase(self) -> str:
        """What a person should see while waiting: Fabric's acquisition phase, else Livy's state."""
        if (self.fabric_state is not None and self.fabric_state is not FabricAcquisitionState.UNKNOWN
                and self.state in SESSION_STARTING_STATES):
            return str(self.fabric_state)
        return str(self.state)

    @property
    def is_ready(self) -> bool:
        return self.state in SESSION_READY_STATES

    @property
    def has_failed(self) -> bool:
        """True once the session cannot run code any more (error, dead, or Fabric refused it)."""
        return (self.state in SESSION_FAILED_STATES or self.state in SESSION_ENDED_STATES
                or (self.fabric_state in FABRIC_FAILED_STATES
                    and self.state in SESSION_STARTING_STATES))

    @property
    def error_message(self) -> str | None:
        """The most specific error text the server gave, if any."""
        if self.fabric_error_message:
            return self.fabric_error_message
        for info in self.error_info:
            if info.message:
                return f"{info.error_code}: {info.message}" if info.error_code else info.message
        return None


@dataclass(frozen=True)
class SessionPage:
    """One page of ``GET sessions``: Livy's ``{from, total, sessions}`` or Fabric's ``{items}``."""

    sessions: tuple[Session, ...]
    start: int = 0
    total: int | None = None

    @classmethod
    def from_json(cls, data: Any, url: str | None = None, start: int = 0) -> "SessionPage":
        data = _require_dict(data, "session list", url)
        items = data.get("sessions")
        if items is None:
            items = data.get("items")
        if items is None:
            items = data.get("value")
        if not isinstance(items, list):
            raise _missing("sessions", "session list", url)
        total = _opt_int(data.get("total"))
        if total is None:
            total = _opt_int(data.get("totalCountOfMatchedItems"))
        start_at = _opt_int(data.get("from"))
        return cls(sessions=tuple(Session.from_json(item, url) for item in items),
                   start=start if start_at is None else start_at, total=total)


@dataclass(frozen=True)
class SessionLog:
    """Log lines of a session (Livy's ``/log`` route, or Fabric's ``log`` field)."""

    lines: tuple[str, ...]
    start: int = 0
    total: int | None = None

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "SessionLog":
        data = _require_dict(data, "session log", url)
        return cls(lines=_str_list(data.get("log")), start=_opt_int(data.get("from")) or 0,
                   total=_opt_int(data.get("total")))


# --- statements ------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatementOutput:
    """A statement's result: ``data`` is a MIME map on success; ename/evalue/traceback on error."""

    status: str | None = None
    execution_count: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    ename: str | None = None
    evalue: str | None = None
    traceback: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "StatementOutput":
        data = _require_dict(data, "statement output", url)
        return cls(
            status=_opt_str(data.get("status")),
            execution_count=_opt_int(data.get("execution_count")),
            data=_dict(data.get("data")),
            ename=_opt_str(data.get("ename")),
            evalue=_opt_str(data.get("evalue")),
            traceback=_str_list(data.get("traceback")),
            extra=_extra(data, {"status", "execution_count", "data", "ename", "evalue", "traceback"}),
        )

    @property
    def ok(self) -> bool:
        return (self.status or "ok").lower() == "ok" and self.ename is None

    @property
    def text(self) -> str | None:
        """The ``text/plain`` part, which is what most statements print."""
        value = self.data.get("text/plain")
        return value if isinstance(value, str) or value is None else str(value)

    def raise_for_status(self) -> None:
        """Raise :class:`StatementFailed` with the remote ename/evalue/traceback on error."""
        if not self.ok:
            raise StatementFailed(self.ename or "Error", self.evalue or "", list(self.traceback))


#: pylivy's name for the same thing.
Output = StatementOutput

_STATEMENT_FIELDS = {"id", "code", "state", "output", "progress", "started", "completed", "sourceId"}


@dataclass(frozen=True)
class Statement:
    """A snapshot of one statement. ``started``/``completed`` are epoch milliseconds (Livy)."""

    id: int
    state: StatementState = StatementState.UNKNOWN
    code: str | None = None
    output: StatementOutput | None = None
    progress: float | None = None
    started: int | None = None
    completed: int | None = None
    source_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "Statement":
        data = _require_dict(data, "statement", url)
        statement_id = _opt_int(data.get("id"))
        if statement_id is None:
            raise _missing("id", "statement", url)
        output = data.get("output")
        progress = data.get("progress")
        return cls(
            id=statement_id,
            state=StatementState(data["state"]) if data.get("state") is not None
            else StatementState.UNKNOWN,
            code=_opt_str(data.get("code")),
            output=StatementOutput.from_json(output, url) if isinstance(output, dict) else None,
            progress=float(progress) if isinstance(progress, (int, float)) else None,
            started=_opt_int(data.get("started")) or None,
            completed=_opt_int(data.get("completed")) or None,
            source_id=_opt_str(data.get("sourceId")),
            extra=_extra(data, _STATEMENT_FIELDS),
        )

    @property
    def is_finished(self) -> bool:
        return self.state in STATEMENT_FINISHED_STATES

    def raise_for_status(self) -> None:
        """Raise if the statement was cancelled or its code failed; return quietly otherwise."""
        if self.state is StatementState.CANCELLED:
            raise StatementCancelled(f"Statement {self.id} was cancelled.")
        if self.output is not None:
            self.output.raise_for_status()
        elif self.state is StatementState.ERROR:
            raise StatementFailed("Error", f"statement {self.id} failed without an output")


@dataclass(frozen=True)
class StatementTarget:
    """Where statements go: a plain session, or one REPL of a high-concurrency session."""

    session_id: SessionId
    repl_id: str | None = None

    @property
    def is_repl(self) -> bool:
        return self.repl_id is not None

    def __str__(self) -> str:
        return f"{self.session_id}/repl {self.repl_id}" if self.repl_id else str(self.session_id)


# --- high concurrency ------------------------------------------------------------------------

_HC_FIELDS = {"id", "state", "sessionId", "replId", "sessionTag", "fabricSessionStateInfo",
              "workspaceId", "artifactId", "creatorId", "createdAt"}


@dataclass(frozen=True)
class HighConcurrencySession:
    """A Fabric high-concurrency session: one REPL (``repl_id``) inside a shared Spark session."""

    id: str
    state: HighConcurrencyState = HighConcurrencyState.UNKNOWN
    session_id: str | None = None
    repl_id: str | None = None
    session_tag: str | None = None
    fabric_state: FabricAcquisitionState | None = None
    fabric_error_message: str | None = None
    workspace_id: str | None = None
    artifact_id: str | None = None
    created_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "HighConcurrencySession":
        data = _require_dict(data, "high-concurrency session", url)
        if not data.get("id"):
            raise _missing("id", "high-concurrency session", url)
        fabric = data.get("fabricSessionStateInfo")
        fabric = fabric if isinstance(fabric, dict) else None
        return cls(
            id=str(data["id"]),
            state=HighConcurrencyState(data["state"]) if data.get("state") is not None
            else HighConcurrencyState.UNKNOWN,
            session_id=_opt_str(data.get("sessionId")) or None,
            repl_id=_opt_str(data.get("replId")) or None,
            session_tag=_opt_str(data.get("sessionTag")),
            fabric_state=(FabricAcquisitionState(fabric.get("state"))
                          if fabric and fabric.get("state") is not None else None),
            fabric_error_message=_opt_str(fabric.get("errorMessage")) if fabric else None,
            workspace_id=_opt_str(data.get("workspaceId")),
            artifact_id=_opt_str(data.get("artifactId")),
            created_at=_opt_str(data.get("createdAt")),
            extra=_extra(data, _HC_FIELDS),
        )

    @property
    def phase(self) -> str:
        if self.fabric_state is not None and self.state in (
                HighConcurrencyState.NOT_STARTED, HighConcurrencyState.ACQUIRING,
                HighConcurrencyState.UNKNOWN):
            return str(self.fabric_state)
        return str(self.state)

    @property
    def is_ready(self) -> bool:
        return self.state is HighConcurrencyState.IDLE and bool(self.session_id and self.repl_id)

    @property
    def has_failed(self) -> bool:
        return self.state in HC_FAILED_STATES or self.fabric_state in (
            FabricAcquisitionState.ERROR, FabricAcquisitionState.CANCELLED)

    @property
    def target(self) -> StatementTarget:
        """Statement target of this REPL; only valid once ``is_ready``."""
        if not (self.session_id and self.repl_id):
            raise ValueError(f"High-concurrency session {self.id} has no REPL yet (state {self.state}).")
        return StatementTarget(self.session_id, self.repl_id)


# --- batches ---------------------------------------------------------------------------------

class BatchState(_TolerantEnum):
    """Batch states: Livy's not_started → starting → running → success / dead / killed, plus the
    other values Fabric's ``BatchResponse.state`` enum lists."""

    NOT_STARTED = "not_started"
    STARTING = "starting"
    RUNNING = "running"
    SUCCESS = "success"
    DEAD = "dead"
    KILLED = "killed"
    ERROR = "error"
    SHUTTING_DOWN = "shutting_down"
    RECOVERING = "recovering"
    SUBMITTING = "submitting"
    NOT_SUBMITTED = "not_submitted"
    IDLE = "idle"
    BUSY = "busy"
    UNKNOWN = "unknown"


BATCH_ENDED_STATES = frozenset(
    {BatchState.SUCCESS, BatchState.DEAD, BatchState.KILLED, BatchState.ERROR}
)
BATCH_FAILED_STATES = frozenset({BatchState.DEAD, BatchState.KILLED, BatchState.ERROR})
#: Fabric's ``result`` once a batch has ended (``Uncertain`` while it runs).
BATCH_RESULTS = {"succeeded": "Succeeded", "failed": "Failed", "cancelled": "Cancelled"}

_BATCH_FIELDS = {
    "id", "name", "state", "livyState", "appId", "appInfo", "owner", "proxyUser", "log",
    "fabricBatchStateInfo", "livyInfo", "errorInfo", "tags", "submitterName", "result",
    "cancellationReason",
}


@dataclass(frozen=True)
class Batch:
    """A snapshot of a batch job (Livy ``/batches`` or Fabric ``BatchResponse`` / list item)."""

    id: SessionId
    state: BatchState = BatchState.UNKNOWN
    name: str | None = None
    app_id: str | None = None
    app_info: dict[str, Any] = field(default_factory=dict)
    log: tuple[str, ...] = field(default=(), repr=False)
    fabric_state: FabricAcquisitionState | None = None
    fabric_error_message: str | None = None
    livy_info: dict[str, Any] = field(default_factory=dict)
    error_info: tuple[ErrorInfo, ...] = ()
    result: str | None = None
    cancellation_reason: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    submitter_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "Batch":
        data = _require_dict(data, "batch", url)
        try:
            batch_id = _session_id(data.get("id"))
        except TypeError:
            raise _missing("id", "batch", url) from None
        livy_info = _dict(data.get("livyInfo"))
        # Fabric's list items carry livyState; early polls may have only livyInfo.currentState.
        raw_state = data.get("state") or data.get("livyState") or livy_info.get("currentState")
        fabric = data.get("fabricBatchStateInfo")
        fabric = fabric if isinstance(fabric, dict) else None
        result = _opt_str(data.get("result"))
        return cls(
            id=batch_id,
            state=BatchState(raw_state) if raw_state else BatchState.UNKNOWN,
            name=_opt_str(data.get("name")),
            app_id=_opt_str(data.get("appId")),
            app_info=_dict(data.get("appInfo")),
            log=_str_list(data.get("log")),
            fabric_state=(FabricAcquisitionState(fabric.get("state"))
                          if fabric and fabric.get("state") is not None else None),
            fabric_error_message=_opt_str(fabric.get("errorMessage")) if fabric else None,
            livy_info=livy_info,
            error_info=tuple(ErrorInfo.from_json(item) for item in data.get("errorInfo") or []
                             if item is not None),
            result=BATCH_RESULTS.get(result.lower(), result) if result else None,
            cancellation_reason=_opt_str(data.get("cancellationReason")),
            tags=_dict(data.get("tags")),
            submitter_name=_opt_str(data.get("submitterName")),
            extra=_extra(data, _BATCH_FIELDS),
        )

    @property
    def is_finished(self) -> bool:
        """Ended one way or another: a final Livy state, a final Fabric result, or refused."""
        return (self.state in BATCH_ENDED_STATES or self.result in BATCH_RESULTS.values()
                or (self.fabric_state in FABRIC_FAILED_STATES
                    and self.fabric_state is not FabricAcquisitionState.CANCELLING
                    and self.state not in (BatchState.RUNNING,)))

    @property
    def succeeded(self) -> bool:
        return self.state is BatchState.SUCCESS or self.result == "Succeeded"

    @property
    def phase(self) -> str:
        """What a person should see: Fabric's acquisition phase while queued, else the state."""
        if (self.fabric_state is not None and self.fabric_state is not FabricAcquisitionState.UNKNOWN
                and self.state in (BatchState.NOT_STARTED, BatchState.STARTING,
                                   BatchState.SUBMITTING, BatchState.UNKNOWN)):
            return str(self.fabric_state)
        if self.state is BatchState.UNKNOWN and self.result:
            return self.result.lower()
        return str(self.state)

    @property
    def error_message(self) -> str | None:
        """The most specific error text the server gave, if any."""
        if self.fabric_error_message:
            return self.fabric_error_message
        for info in self.error_info:
            if info.message:
                return f"{info.error_code}: {info.message}" if info.error_code else info.message
        return self.cancellation_reason


@dataclass(frozen=True)
class BatchPage:
    """One page of ``GET batches``: Livy's ``{from, total, sessions}`` or Fabric's ``{items}``."""

    batches: tuple[Batch, ...]
    start: int = 0
    total: int | None = None

    @classmethod
    def from_json(cls, data: Any, url: str | None = None, start: int = 0) -> "BatchPage":
        data = _require_dict(data, "batch list", url)
        items = next((data[key] for key in ("sessions", "batches", "items", "value")
                      if data.get(key) is not None), None)
        if not isinstance(items, list):
            raise _missing("sessions", "batch list", url)
        total = _opt_int(data.get("total"))
        if total is None:
            total = _opt_int(data.get("totalCountOfMatchedItems"))
        start_at = _opt_int(data.get("from"))
        return cls(batches=tuple(Batch.from_json(item, url) for item in items),
                   start=start if start_at is None else start_at, total=total)


__all__ += ["BatchState", "BATCH_ENDED_STATES", "BATCH_FAILED_STATES", "Batch", "BatchPage"]
