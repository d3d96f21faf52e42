"""State enums and the terminal-state sets callers branch on.

State names follow Apache Livy's ``SessionState.scala`` / ``StatementState.scala`` and the Fabric
REST reference (``specs/fabric-livy-swagger.yaml``). Servers differ in spelling, so every enum
matches case-insensitively and maps a value it does not know to ``UNKNOWN`` instead of failing.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = [
    "SessionState",
    "FabricAcquisitionState",
    "StatementState",
    "HighConcurrencyState",
    "SessionKind",
    "BatchState",
    "SESSION_STARTING_STATES",
    "SESSION_READY_STATES",
    "SESSION_FAILED_STATES",
    "SESSION_ENDED_STATES",
    "FABRIC_FAILED_STATES",
    "STATEMENT_FINISHED_STATES",
    "HC_FAILED_STATES",
    "HC_ENDED_STATES",
    "BATCH_ENDED_STATES",
    "BATCH_FAILED_STATES",
    "BATCH_RESULTS",
]


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
#: A high-concurrency REPL in these states is gone for good (a new one must be acquired).
HC_ENDED_STATES = frozenset({HighConcurrencyState.DEAD, HighConcurrencyState.KILLED, HighConcurrencyState.DELETING})
BATCH_ENDED_STATES = frozenset(
    {BatchState.SUCCESS, BatchState.DEAD, BatchState.KILLED, BatchState.ERROR}
)
BATCH_FAILED_STATES = frozenset({BatchState.DEAD, BatchState.KILLED, BatchState.ERROR})
#: Fabric's ``result`` once a batch has ended (``Uncertain`` while it runs).
BATCH_RESULTS = {"succeeded": "Succeeded", "failed": "Failed", "cancelled": "Cancelled"}
