"""What Fabric's Spark monitoring APIs answer: runs of a lakehouse, Spark jobs/stages/executors,
log files, advice and resource usage. Sources: the Fabric REST reference "Lakehouse - List Livy
Sessions" (``LivySession`` in microsoft/fabric-rest-api-specs ``common/spark_definitions.json``),
the Fabric docs pages "Spark open-source metrics APIs" (Spark's own ``api.scala`` JSON), "Livy log",
"Driver log", "Executor log", "Spark advisor API" and "Resource usage APIs". Every field is optional
except each object's id: an answer without it, or of the wrong JSON type, is MalformedResponse.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from fabric_livy_magics.errors import MalformedResponse
from fabric_livy_magics.livy.models import _parse as p
from fabric_livy_magics.livy.models.batches import Batch
from fabric_livy_magics.livy.models.sessions import Session

__all__ = [
    "Advice", "ContainerLogs", "JobProgress", "LogFile", "ResourceUsage", "SparkExecutor", "SparkJob",
    "SparkRun", "SparkRunPage", "SparkStage", "parse_list",
]  # fmt: skip

#: Fabric's ``LivySession.state`` values that mean the run has ended.
RUN_ENDED_STATES = frozenset({"cancelled", "succeeded", "failed", "stopped", "success", "dead", "killed", "error"})
_SECONDS = {"milliseconds": 0.001, "seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}


def parse_list(data: Any, what: str, url: str | None) -> list[Any]:
    """A JSON array answer; anything else is MalformedResponse naming the URL."""
    if not isinstance(data, list):
        raise MalformedResponse(
            f"{url or 'The server'} answered {type(data).__name__} where a list of {what} was expected. "
            "Check that the URL points at Fabric's Spark monitoring API.")
    return data


def _time(value: Any) -> _dt.datetime | None:
    """ISO times (``2025-01-31T15:32:03Z``) and Spark's (``2025-03-19T07:33:40.386GMT``)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("GMT", "+00:00").replace("Z", "+00:00")
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.UTC)


def _duration(value: Any) -> float | None:
    """Fabric's ``Duration`` ``{value, timeUnit}`` in seconds."""
    if not isinstance(value, dict):
        return None
    amount = value.get("value")
    unit = _SECONDS.get(str(value.get("timeUnit", "seconds")).lower())
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or unit is None:
        return None
    return float(amount) * unit


def _int(data: dict[str, Any], key: str) -> int:
    return p.opt_int(data.get(key)) or 0


def _required(data: dict[str, Any], key: str, what: str, url: str | None) -> Any:
    if data.get(key) is None or isinstance(data.get(key), (dict, list, bool)):
        raise p.missing(key, what, url)
    return data[key]


def _required_int(data: dict[str, Any], key: str, what: str, url: str | None) -> int:
    value = p.opt_int(_required(data, key, what, url))
    if value is None:
        raise p.missing(key, what, url)
    return value


@dataclass(frozen=True)
class SparkRun:
    """One Livy session or batch as Fabric's monitoring lists it (``LivySession``), or as an
    Apache Livy server shows a session or batch it still holds."""

    livy_id: str
    name: str | None = None
    state: str | None = None
    job_type: str | None = None
    app_id: str | None = None
    submitter: str | None = None
    item_name: str | None = None
    item_type: str | None = None
    submitted_at: _dt.datetime | None = None
    started_at: _dt.datetime | None = None
    ended_at: _dt.datetime | None = None
    queued_seconds: float | None = None
    running_seconds: float | None = None
    total_seconds: float | None = None
    attempt: int | None = None
    cancellation_reason: str | None = None
    high_concurrency: bool | None = None
    runtime_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    _KNOWN = {"livyId", "livyName", "state", "jobType", "sparkApplicationId", "submitter", "itemName",
              "itemType", "submittedDateTime", "startDateTime", "endDateTime", "queuedDuration",
              "runningDuration", "totalDuration", "attemptNumber", "cancellationReason",
              "isHighConcurrency", "runtimeVersion"}

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "SparkRun":
        data = p.require_dict(data, "Livy session record", url)
        submitter = data.get("submitter")
        who = None
        if isinstance(submitter, dict):
            who = p.opt_str(submitter.get("displayName") or submitter.get("userPrincipalName") or submitter.get("id"))
        high = data.get("isHighConcurrency")
        return cls(
            livy_id=str(_required(data, "livyId", "Livy session record", url)),
            name=p.opt_str(data.get("livyName")), state=p.opt_str(data.get("state")),
            job_type=p.opt_str(data.get("jobType")), app_id=p.opt_str(data.get("sparkApplicationId")),
            submitter=who, item_name=p.opt_str(data.get("itemName")), item_type=p.opt_str(data.get("itemType")),
            submitted_at=_time(data.get("submittedDateTime")), started_at=_time(data.get("startDateTime")),
            ended_at=_time(data.get("endDateTime")), queued_seconds=_duration(data.get("queuedDuration")),
            running_seconds=_duration(data.get("runningDuration")),
            total_seconds=_duration(data.get("totalDuration")), attempt=p.opt_int(data.get("attemptNumber")),
            cancellation_reason=p.opt_str(data.get("cancellationReason")),
            high_concurrency=high if isinstance(high, bool) else None,
            runtime_version=p.opt_str(data.get("runtimeVersion")), extra=p.extra(data, cls._KNOWN))

    @classmethod
    def from_livy(cls, item: Session | Batch) -> "SparkRun":
        """What an Apache Livy server tells of a session or batch it still holds (no times)."""
        job_type = "SparkBatch" if isinstance(item, Batch) else "SparkSession"
        return cls(livy_id=str(item.id), name=item.name, state=str(item.state), job_type=job_type,
                   app_id=item.app_id, submitter=item.submitter_name)

    @property
    def is_batch(self) -> bool:
        return (self.job_type or "").lower() == "sparkbatch"

    @property
    def has_ended(self) -> bool:
        return (self.state or "").lower() in RUN_ENDED_STATES

    @property
    def duration(self) -> float | None:
        """Seconds from start (or submission) to end, or to now while it runs."""
        if self.total_seconds is not None:
            return self.total_seconds
        begin = self.started_at or self.submitted_at
        if begin is None:
            return None
        end = self.ended_at or (None if self.has_ended else _dt.datetime.now(_dt.UTC))
        return (end - begin).total_seconds() if end is not None else None


@dataclass(frozen=True)
class SparkRunPage:
    """One page of ``GET .../livySessions``: ``value`` and a continuation token for the next."""

    runs: tuple[SparkRun, ...]
    continuation_token: str | None = None

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "SparkRunPage":
        data = p.require_dict(data, "Livy session list", url)
        items = parse_list(data.get("value"), "Livy sessions", url)
        return cls(runs=tuple(SparkRun.from_json(item, url) for item in items),
                   continuation_token=p.opt_str(data.get("continuationToken")) or None)


_JOB_COUNTS = {f"num_{snake}": f"num{camel}" for snake, camel in (
    ("tasks", "Tasks"), ("active_tasks", "ActiveTasks"), ("completed_tasks", "CompletedTasks"),
    ("skipped_tasks", "SkippedTasks"), ("failed_tasks", "FailedTasks"), ("active_stages", "ActiveStages"),
    ("completed_stages", "CompletedStages"), ("skipped_stages", "SkippedStages"), ("failed_stages", "FailedStages"))}


@dataclass(frozen=True)
class SparkJob:
    """A Spark job (Spark's ``JobData``): its tasks and stages, done and in total."""

    job_id: int
    name: str | None = None
    description: str | None = None
    status: str | None = None
    job_group: str | None = None
    submitted_at: _dt.datetime | None = None
    completed_at: _dt.datetime | None = None
    stage_ids: tuple[int, ...] = ()
    num_tasks: int = 0
    num_active_tasks: int = 0
    num_completed_tasks: int = 0
    num_skipped_tasks: int = 0
    num_failed_tasks: int = 0
    num_active_stages: int = 0
    num_completed_stages: int = 0
    num_skipped_stages: int = 0
    num_failed_stages: int = 0
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "SparkJob":
        data = p.require_dict(data, "Spark job", url)
        job_id = _required_int(data, "jobId", "Spark job", url)
        stages = data.get("stageIds")
        counts = {name: _int(data, key) for name, key in _JOB_COUNTS.items()}
        return cls(
            job_id=job_id, name=p.opt_str(data.get("name")), description=p.opt_str(data.get("description")),
            status=p.opt_str(data.get("status")), job_group=p.opt_str(data.get("jobGroup")),
            submitted_at=_time(data.get("submissionTime")), completed_at=_time(data.get("completionTime")),
            stage_ids=tuple(i for i in (p.opt_int(s) for s in (stages if isinstance(stages, list) else []))
                            if i is not None),
            extra=p.extra(data, {"jobId", "name", "description", "status", "jobGroup", "submissionTime",
                                 "completionTime", "stageIds", *_JOB_COUNTS.values()}),
            **counts)

    @property
    def finished(self) -> bool:
        return (self.status or "").upper() in ("SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class SparkStage:
    """A stage attempt (Spark's ``StageData``), the fields a person reads."""

    stage_id: int
    attempt_id: int = 0
    name: str | None = None
    status: str | None = None
    num_tasks: int = 0
    num_active_tasks: int = 0
    num_complete_tasks: int = 0
    num_failed_tasks: int = 0
    executor_run_time_ms: int = 0
    input_bytes: int = 0
    output_bytes: int = 0
    shuffle_read_bytes: int = 0
    shuffle_write_bytes: int = 0
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "SparkStage":
        data = p.require_dict(data, "Spark stage", url)
        stage_id = _required_int(data, "stageId", "Spark stage", url)
        keys = {"num_tasks": "numTasks", "num_active_tasks": "numActiveTasks",
                "num_complete_tasks": "numCompleteTasks", "num_failed_tasks": "numFailedTasks",
                "executor_run_time_ms": "executorRunTime", "input_bytes": "inputBytes",
                "output_bytes": "outputBytes", "shuffle_read_bytes": "shuffleReadBytes",
                "shuffle_write_bytes": "shuffleWriteBytes"}
        return cls(stage_id=stage_id, attempt_id=_int(data, "attemptId"), name=p.opt_str(data.get("name")),
                   status=p.opt_str(data.get("status")), **{name: _int(data, key) for name, key in keys.items()},
                   extra=p.extra(data, {"stageId", "attemptId", "name", "status", *keys.values()}))


@dataclass(frozen=True)
class SparkExecutor:
    """An executor (Spark's ``ExecutorSummary``); ``driver`` is the driver's own entry."""

    executor_id: str
    host_port: str | None = None
    is_active: bool | None = None
    total_cores: int = 0
    active_tasks: int = 0
    completed_tasks: int = 0
    failed_tasks: int = 0
    total_duration_ms: int = 0
    memory_used: int = 0
    max_memory: int = 0
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "SparkExecutor":
        data = p.require_dict(data, "Spark executor", url)
        active = data.get("isActive")
        keys = {"total_cores": "totalCores", "active_tasks": "activeTasks", "completed_tasks": "completedTasks",
                "failed_tasks": "failedTasks", "total_duration_ms": "totalDuration", "memory_used": "memoryUsed",
                "max_memory": "maxMemory"}
        return cls(executor_id=str(_required(data, "id", "Spark executor", url)),
                   host_port=p.opt_str(data.get("hostPort")), is_active=active if isinstance(active, bool) else None,
                   **{name: _int(data, key) for name, key in keys.items()},
                   extra=p.extra(data, {"id", "hostPort", "isActive", *keys.values()}))


@dataclass(frozen=True)
class JobProgress:
    """Spark jobs, stages and tasks done of total, for a statement's jobs (a progress line)."""

    jobs_done: int = 0
    jobs_total: int = 0
    stages_done: int = 0
    stages_total: int = 0
    tasks_done: int = 0
    tasks_total: int = 0

    @classmethod
    def of(cls, jobs: tuple[SparkJob, ...] | list[SparkJob]) -> "JobProgress":
        """Skipped stages and tasks count as done (Spark's own UI does the same)."""
        return cls(
            jobs_done=sum(1 for job in jobs if job.finished), jobs_total=len(jobs),
            stages_done=sum(job.num_completed_stages + job.num_skipped_stages for job in jobs),
            stages_total=sum(max(len(job.stage_ids), job.num_completed_stages + job.num_skipped_stages
                                 + job.num_active_stages + job.num_failed_stages) for job in jobs),
            tasks_done=sum(job.num_completed_tasks + job.num_skipped_tasks for job in jobs),
            tasks_total=sum(job.num_tasks for job in jobs))

    @property
    def fraction(self) -> float | None:
        """Tasks done of total, None before any task is known."""
        return min(1.0, self.tasks_done / self.tasks_total) if self.tasks_total else None

    def __str__(self) -> str:
        return (f"jobs {self.jobs_done}/{self.jobs_total} · stages {self.stages_done}/{self.stages_total}"
                f" · tasks {self.tasks_done}/{self.tasks_total}")


@dataclass(frozen=True)
class LogFile:
    """A log file's metadata (``FileMeta``). The executor page spells it ``fileSize`` (a string)
    and ``lastModifiedTime``: both are read."""

    file_name: str
    length: int | None = None
    last_modified: str | None = None
    created: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "LogFile":
        data = p.require_dict(data, "log file metadata", url)
        length = data.get("length", data.get("fileSize"))
        return cls(file_name=str(_required(data, "fileName", "log file metadata", url)),
                   length=p.opt_int(length), last_modified=p.opt_str(data.get("lastModified") or data.get("lastModifiedTime")),
                   created=p.opt_str(data.get("creationTime")),
                   extra=p.extra(data, {"fileName", "length", "fileSize", "lastModified", "lastModifiedTime",
                                        "creationTime"}))


@dataclass(frozen=True)
class ContainerLogs:
    """A driver's or executor's container with its log files (``ContainerLogMeta``)."""

    container_id: str | None
    node_id: str | None
    files: tuple[LogFile, ...]

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "ContainerLogs":
        data = p.require_dict(data, "container log metadata", url)
        meta = data.get("containerLogMeta")
        if meta is None:
            raise p.missing("containerLogMeta", "container log metadata", url)
        files = meta if isinstance(meta, list) else [meta]  # one FileMeta, or a list of them
        return cls(container_id=p.opt_str(data.get("containerId")), node_id=p.opt_str(data.get("nodeId")),
                   files=tuple(LogFile.from_json(item, url) for item in files))


@dataclass(frozen=True)
class Advice:
    """One Spark advisor finding (``AdviseDataJson``); ids of -1 mean "not about one"."""

    advice_id: int
    name: str
    description: str | None = None
    level: str | None = None
    source: str | None = None
    help_link: str | None = None
    stage_id: int | None = None
    job_id: int | None = None
    execution_id: int | None = None
    job_group_id: str | None = None
    executor_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "Advice":
        data = p.require_dict(data, "advice", url)

        def ref(key: str) -> int | None:
            return None if (p.opt_int(data.get(key)) or 0) < 0 else p.opt_int(data.get(key))

        advice_id = p.opt_int(data.get("id"))
        return cls(advice_id=-1 if advice_id is None else advice_id,
                   name=str(_required(data, "name", "advice", url)), description=p.opt_str(data.get("description")),
                   level=p.opt_str(data.get("level")), source=p.opt_str(data.get("source")),
                   help_link=p.opt_str(data.get("helplink")) or None, stage_id=ref("stageId"), job_id=ref("jobId"),
                   execution_id=ref("executionId"), job_group_id=p.opt_str(data.get("jobGroupId")) or None,
                   executor_id=p.opt_str(data.get("executorId")) or None, detail=p.as_dict(data.get("detail")))


@dataclass(frozen=True)
class ResourceUsage:
    """An application's core usage timeline (``ResourceUsageInfo``), the summary and the series."""

    duration_ms: int | None = None
    idle_time_ms: int | None = None
    core_efficiency: float | None = None
    capacity_exceeded: bool = False
    timestamps: tuple[int, ...] = ()
    allocated_cores: tuple[float, ...] = ()
    running_cores: tuple[float, ...] = ()
    idle_cores: tuple[float, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "ResourceUsage":
        data = p.require_dict(data, "resource usage", url)
        series = p.as_dict(data.get("data"))

        def numbers(key: str) -> tuple[float, ...]:
            values = series.get(key)
            return tuple(float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)) \
                if isinstance(values, list) else ()

        efficiency = data.get("coreEfficiency")
        return cls(duration_ms=p.opt_int(data.get("duration")), idle_time_ms=p.opt_int(data.get("idleTime")),
                   core_efficiency=float(efficiency) if isinstance(efficiency, (int, float)) else None,
                   capacity_exceeded=data.get("capacityExceeded") is True,
                   timestamps=tuple(int(v) for v in numbers("timestamps")), allocated_cores=numbers("allocatedCores"),
                   running_cores=numbers("runningCores"), idle_cores=numbers("idleCores"),
                   extra=p.extra(data, {"duration", "idleTime", "coreEfficiency", "capacityExceeded", "data"}))
