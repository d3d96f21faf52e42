"""``%livy logs|history|advice``: the session's logs, the runs of this lakehouse (or Livy server),
and Spark's advice, over ``livy/monitoring.py``."""

from __future__ import annotations

import time
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from fabric_livy_magics.errors import ConfigurationError, LivyHTTPError
from fabric_livy_magics.livy.lifecycle import ManagedSession
from fabric_livy_magics.livy.models import SessionId, SparkRun
from fabric_livy_magics.livy.monitoring import LogSource, MonitoringCalls
from fabric_livy_magics.notebook.commands.parsing import parse, set_prog
from fabric_livy_magics.notebook.commands.sessions import _fmt_elapsed, _no_session_yet, _running
from fabric_livy_magics.notebook.commands.state import NotebookState

__all__ = ["PARSERS", "advice", "history", "logs"]

FOLLOW_INTERVAL = 2.0


@set_prog("%livy logs")
@magic_arguments()
@argument("--driver", action="store_true", help="The Spark driver's log (the default).")
@argument("--executor", action="store_true", help="The executors' logs (Fabric), one block per container.")
@argument("--livy", action="store_true", help="The Livy log of the session (Fabric): its start and states.")
@argument("--stderr", action="store_true", help="The stderr file (the default: Spark logs there).")
@argument("--stdout", action="store_true", help="The stdout file (what the driver printed outside cells).")
@argument("-n", "--lines", type=int, default=50, metavar="N", help="How many last lines (default 50).")
@argument("--follow", action="store_true", help="Keep printing new lines until Ctrl-C or the session ends.")
def _logs(line: str) -> None:
    """Show the end of the session's driver, executor or Livy log.

    On Fabric the logs come from the Spark monitoring APIs (scope Item.Read.All or
    Lakehouse.Read.All); on Apache Livy from the session's /log route (the driver's output).

    Example: ``%livy logs --driver -n 100``, ``%livy logs --livy``, ``%livy logs --follow``
    """


@set_prog("%livy history")
@magic_arguments()
@argument("run_id", nargs="?", metavar="ID", help="One run's detail: its Livy session or batch id.")
@argument("-n", "--limit", type=int, default=20, metavar="N", help="How many runs, newest first (default 20).")
@argument("--batches", action="store_true", help="Batch jobs only.")
def _history(line: str) -> None:
    """Past and current sessions and batches of this lakehouse (Fabric) or this Livy server:
    id, name, state, submitted, duration, Spark application id. With an ID: one run's detail.

    Example: ``%livy history -n 5``, ``%livy history --batches``, ``%livy history 9611f500-...``
    """


@set_prog("%livy advice")
@magic_arguments()
def _advice(line: str) -> None:
    """Spark advisor findings for this notebook's session (Fabric), as a table."""


PARSERS = {"logs": _logs, "history": _history, "advice": _advice}


def _session_ref(session: ManagedSession) -> tuple[SessionId, str | None]:
    """The Livy id (a high-concurrency REPL's shared session) and its Spark application id."""
    session_id = session.session_id
    if session.high_concurrency_id is not None:
        refreshed = session.refresh()
        session_id = getattr(refreshed, "session_id", None) or session_id
    assert session_id is not None
    return session_id, session.client.get_session(session_id).app_id


def _one_source(args: Any) -> LogSource:
    chosen = [name for name in ("driver", "executor", "livy") if getattr(args, name)]
    if len(chosen) > 1:
        raise UsageError(f"Choose one log: --{' or --'.join(chosen)}.")
    if args.stderr and args.stdout:
        raise UsageError("Choose one file: --stderr or --stdout.")
    return chosen[0] if chosen else "driver"  # type: ignore[return-value]


def logs(state: NotebookState, line: str) -> None:
    args = parse(_logs, line)
    if args.lines < 1:
        raise UsageError(f"-n takes a positive number of lines; got {args.lines}.")
    source = _one_source(args)
    session = _running(state)
    if session is None:
        print(_no_session_yet(state))
        return
    monitoring = session.client.monitoring
    if not monitoring.available:
        _livy_logs(session, source, args)
        return
    livy_id, app_id = _session_ref(session)
    file_name = "stdout" if args.stdout else "stderr"
    containers: list[str | None] = [None]
    if source == "executor":
        found = monitoring.log_containers(livy_id, app_id, "executor", file_name=file_name)
        containers = [c.container_id for c in found if any(f.file_name == file_name for f in c.files)]
        if not containers:
            print(f"No executor has a {file_name} log yet.")
            return
    for container in containers:
        tail = monitoring.tail_log(livy_id, app_id, source, lines=args.lines, file_name=file_name,
                                   container_id=container)
        if source == "executor":
            print(f"== executor container {container} ==")
        print("\n".join(tail.lines) if tail.lines else "(the log is empty)", flush=True)
    if args.follow:
        if source == "executor" and len(containers) > 1:
            raise UsageError("--follow follows one log: use it with --driver or --livy.")
        _follow(session, monitoring, livy_id, app_id, source, file_name, containers[0], tail.end)


def _follow(session: ManagedSession, monitoring: MonitoringCalls, livy_id: SessionId, app_id: str | None,
            source: LogSource, file_name: str, container: str | None, start: int) -> None:
    def alive() -> bool:
        return not session.client.get_session(livy_id).has_ended

    try:
        for lines in monitoring.follow_log(livy_id, app_id, source, start=start, file_name=file_name,
                                           container_id=container, interval=FOLLOW_INTERVAL, keep_going=alive):
            print("\n".join(lines), flush=True)
    except KeyboardInterrupt:
        return
    print(f"(session {livy_id} has ended)")


def _livy_logs(session: ManagedSession, source: LogSource, args: Any) -> None:
    """Apache Livy: the session's ``/log`` route is the driver's output, stdout and stderr together."""
    if source != "driver":
        what = ("no separate Livy log per session" if source == "livy" else "no executor logs")
        raise ConfigurationError(f"Apache Livy serves {what}: `%livy logs` shows the driver's output "
                                 "(its /log route); the Spark UI link of `%livy info` has the rest.")
    session_id, _ = _session_ref(session)
    page = session.client.get_session_log(session_id, size=args.lines)
    lines = [text for entry in page.lines for text in entry.splitlines()][-args.lines:]
    print("\n".join(lines) if lines else "(the log is empty)", flush=True)
    if not args.follow:
        return
    seen = page.total if page.total is not None else page.start + len(page.lines)
    try:
        while not session.client.get_session(session_id).has_ended:
            time.sleep(FOLLOW_INTERVAL)
            more = session.client.get_session_log(session_id, start=seen, size=1000)
            if more.lines:
                print("\n".join(more.lines), flush=True)
                seen = more.start + len(more.lines)
    except KeyboardInterrupt:
        return
    print(f"(session {session_id} has ended)")


def _when(run: SparkRun) -> str | None:
    moment = run.submitted_at or run.started_at
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else None


def history(state: NotebookState, line: str) -> None:
    args = parse(_history, line)
    if args.limit < 1:
        raise UsageError(f"-n takes a positive number of runs; got {args.limit}.")
    import pandas as pd
    from IPython.display import display

    session = state.get_session()  # the client only: no Spark session is started
    monitoring = session.client.monitoring
    mine = str(session.session_id) if session.started else None
    if args.run_id:
        display(pd.DataFrame(_detail(session, monitoring, args.run_id), columns=["field", "value"]).set_index("field"))
        return
    runs = monitoring.history(limit=args.limit, batches=args.batches)
    if not runs:
        print(f"No {'batches' if args.batches else 'runs'} on {monitoring.root or session.client.endpoint.root}.")
        return
    rows = [{"id": run.livy_id, "name": run.name, "type": "batch" if run.is_batch else "session",
             "state": run.state, "submitted": _when(run),
             "duration": _fmt_elapsed(run.duration) if run.duration is not None else None,
             "app_id": run.app_id, "this notebook": run.livy_id == mine} for run in runs]
    display(pd.DataFrame(rows))


def _detail(session: ManagedSession, monitoring: MonitoringCalls, run_id: str) -> list[tuple[str, str]]:
    """One run's fields, and on Fabric its Spark jobs, stages and executors."""
    run = monitoring.get_run(run_id if not monitoring.available else
                             session.client.endpoint.parse_id(run_id, "Livy session"))
    rows = [("id", run.livy_id), ("name", run.name or "-"), ("type", "batch" if run.is_batch else "session"),
            ("state", run.state or "-"), ("submitted", _when(run) or "-"),
            ("duration", _fmt_elapsed(run.duration) if run.duration is not None else "-"),
            ("queued", f"{run.queued_seconds:.1f} s" if run.queued_seconds is not None else "-"),
            ("application id", run.app_id or "-")]
    if run.cancellation_reason:
        rows.append(("cancelled because", run.cancellation_reason))
    if monitoring.available and run.app_id:
        try:
            from fabric_livy_magics.livy.models import JobProgress

            jobs = monitoring.list_jobs(run.livy_id, run.app_id)
            executors = monitoring.list_executors(run.livy_id, run.app_id)
            failed = sum(1 for job in jobs if (job.status or "").upper() == "FAILED")
            rows += [("Spark work", str(JobProgress.of(jobs))), ("failed jobs", str(failed)),
                     ("executors", str(sum(1 for e in executors if e.executor_id != "driver") or 1))]
        except LivyHTTPError as exc:  # shown, not hidden: the run's own fields are still worth seeing
            rows.append(("Spark work", f"unavailable: {exc}"))
    return rows


def advice(state: NotebookState, line: str) -> None:
    parse(_advice, line)
    session = _running(state)
    if session is None:
        print(_no_session_yet(state))
        return
    monitoring = session.client.monitoring
    if not monitoring.available:
        raise ConfigurationError("Spark advice comes from Fabric's Spark advisor; Apache Livy has none. "
                                 "The Spark UI link of `%livy info` shows the jobs and stages.")
    livy_id, app_id = _session_ref(session)
    if not app_id:
        print(f"Session {livy_id} has no Spark application yet: run a cell first.")
        return
    found = monitoring.list_advice(livy_id, app_id)
    if not found:
        print(f"No Spark advice for session {livy_id} (application {app_id}).")
        return
    import pandas as pd
    from IPython.display import display

    display(pd.DataFrame([{"level": a.level, "advice": a.name, "detail": a.description, "statement": a.job_group_id,
                           "job": a.job_id, "stage": a.stage_id, "link": a.help_link} for a in found]))
