"""A batch job's detail and its driver log from the Spark monitoring APIs, for every front end.

``%livy batch status ID --detail`` and ``fabric-livy batch status ID --detail`` show the run's
record and its Spark work (jobs, stages, tasks, executors) where the monitoring API exists
(Fabric, the local server's Fabric shape); ``batch logs ID --driver`` reads the driver's stderr
or stdout file there. Apache Livy has neither: the detail is what the batch object says, and its
``/log`` route is the driver's output already.
"""

from __future__ import annotations

from typing import Any

from fabric_livy_magics.errors import LivyHTTPError
from fabric_livy_magics.livy.models import Batch, JobProgress, SessionId, SparkRun

__all__ = ["batch_detail", "batch_driver_log", "batch_log_tail"]


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    minutes, secs = divmod(int(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def batch_detail(client: Any, batch: Batch) -> list[tuple[str, str]]:
    """(field, value) rows: the run's record, then its Spark work where the monitoring API exists.

    ``client`` is a ``LivyClient``; ``batch`` the batch as ``get_batch`` returned it."""
    monitoring = client.monitoring
    run = monitoring.get_run(batch.id) if monitoring.available else SparkRun.from_livy(batch)
    submitted = run.submitted_at or run.started_at
    rows = [("id", str(batch.id)), ("name", run.name or batch.name or "-"),
            ("state", str(batch.phase)), ("application id", run.app_id or batch.app_id or "-"),
            ("submitted", submitted.astimezone().strftime("%Y-%m-%d %H:%M:%S") if submitted else "-"),
            ("duration", _seconds(run.duration)),
            ("queued", f"{run.queued_seconds:.1f} s" if run.queued_seconds is not None else "-")]
    if batch.error_message and not batch.succeeded:
        rows.append(("error", batch.error_message))
    if run.cancellation_reason:
        rows.append(("cancelled because", run.cancellation_reason))
    app_id = run.app_id or batch.app_id
    if not monitoring.available:
        rows.append(("Spark work", "- (Apache Livy has no monitoring API: see the Spark UI)"))
        return rows
    if not app_id:
        rows.append(("Spark work", "- (the run names no Spark application)"))
        return rows
    try:
        jobs = monitoring.list_jobs(run.livy_id, app_id)
        executors = monitoring.list_executors(run.livy_id, app_id)
    except LivyHTTPError as exc:  # shown, not hidden: the run's own fields are still worth seeing
        rows.append(("Spark work", f"unavailable: {exc}"))
        return rows
    failed = sum(1 for job in jobs if (job.status or "").upper() == "FAILED")
    rows += [("Spark work", str(JobProgress.of(jobs))), ("failed jobs", str(failed)),
             ("executors", str(sum(1 for e in executors if e.executor_id != "driver") or 1))]
    return rows


def batch_driver_log(client: Any, batch: Batch, *, lines: int, stdout: bool = False) -> list[str]:
    """The last ``lines`` lines of the batch driver's stderr (``stdout``: its stdout) file.

    Apache Livy: the batch's ``/log`` route, which is the driver's output (both streams)."""
    monitoring = client.monitoring
    if not monitoring.available:
        return _livy_log_tail(client, batch.id, lines)
    tail = monitoring.tail_log(batch.id, batch.app_id, "driver", lines=lines,
                               file_name="stdout" if stdout else "stderr")
    return list(tail.lines)


def batch_log_tail(client: Any, batch_id: SessionId, *, lines: int, driver: bool = False,
                   stdout: bool = False) -> list[str]:
    """What ``batch logs ID [-n N] [--driver [--stdout]]`` prints, for the CLI and the magics alike.

    Without ``driver``: the last lines of the batch's Livy log; with it, of its driver's file."""
    if driver:
        from fabric_livy_magics.livy.batches import BatchClient

        return batch_driver_log(client, BatchClient(client).get_batch(batch_id), lines=lines, stdout=stdout)
    return _livy_log_tail(client, batch_id, lines)


def _livy_log_tail(client: Any, batch_id: SessionId, lines: int) -> list[str]:
    from fabric_livy_magics.livy.batches import BatchClient

    page = BatchClient(client).get_batch_log(batch_id, size=lines)
    return [text for entry in page.lines for text in entry.splitlines()][-lines:]
