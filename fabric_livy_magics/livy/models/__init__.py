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

One module per job: ``states`` (enums and terminal-state sets), ``_parse`` (field readers shared
by every model), ``sessions``, ``statements``, ``high_concurrency``, ``batches`` and ``monitoring``
(Fabric's Spark monitoring APIs). Import from
here: ``from fabric_livy_magics.livy.models import Session``.

State names follow Apache Livy's ``SessionState.scala`` / ``StatementState.scala`` and the Fabric
REST reference (``specs/fabric-livy-swagger.yaml``).
"""

from __future__ import annotations

from fabric_livy_magics.livy.models._parse import ErrorInfo, SessionId
from fabric_livy_magics.livy.models.batches import Batch, BatchPage
from fabric_livy_magics.livy.models.high_concurrency import HighConcurrencySession
from fabric_livy_magics.livy.models.monitoring import (
    Advice,
    ContainerLogs,
    JobProgress,
    LogFile,
    ResourceUsage,
    SparkExecutor,
    SparkJob,
    SparkRun,
    SparkRunPage,
    SparkStage,
)
from fabric_livy_magics.livy.models.sessions import Session, SessionLog, SessionPage
from fabric_livy_magics.livy.models.states import (
    BATCH_ENDED_STATES,
    BATCH_FAILED_STATES,
    BATCH_RESULTS as BATCH_RESULTS,  # importable by name, though not in __all__ (as before)
    FABRIC_FAILED_STATES,
    HC_FAILED_STATES,
    SESSION_ENDED_STATES,
    SESSION_FAILED_STATES,
    SESSION_READY_STATES,
    SESSION_STARTING_STATES,
    STATEMENT_FINISHED_STATES,
    BatchState,
    FabricAcquisitionState,
    HighConcurrencyState,
    SessionKind,
    SessionState,
    StatementState,
)
from fabric_livy_magics.livy.models.statements import (
    Output,
    Statement,
    StatementOutput,
    StatementTarget,
)

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
    "BatchState",
    "BATCH_ENDED_STATES",
    "BATCH_FAILED_STATES",
    "Batch",
    "BatchPage",
    "SparkRun",
    "SparkRunPage",
    "SparkJob",
    "SparkStage",
    "SparkExecutor",
    "JobProgress",
    "LogFile",
    "ContainerLogs",
    "Advice",
    "ResourceUsage",
]
