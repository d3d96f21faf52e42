"""``%livy batch submit|status|logs|cancel`` and ``%livy batches``: Spark batch jobs from a notebook.

A batch runs a whole file as one Spark job, apart from the notebook's interactive session (no
session is started for it). It goes to the notebook's target (``%livy connect``, or the default).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from fabric_livy_magics.errors import LivyError
from fabric_livy_magics.livy.batches import BATCH_LOG_LINES, BATCH_TAIL_LINES, parse_batch_id
from fabric_livy_magics.livy.targets import parse_pairs
from fabric_livy_magics.notebook.commands.parsing import parse, set_prog
from fabric_livy_magics.notebook.commands.state import NotebookState

__all__ = ["PARSERS", "batch", "batches"]

SUBCOMMANDS = ("submit", "status", "logs", "cancel")

#: The one positional argument of status, logs and cancel.
_BATCH_ID = argument("batch_id", metavar="ID", help="Batch id, as listed by %%livy batches.")


@set_prog("%livy batch submit")
@magic_arguments()
@argument("path", metavar="PATH",
          help="The .py or .jar file: a local path or file:// URL (local server), abfss://... (Fabric).")
@argument("--args", nargs="*", default=[], metavar="ARG",
          help="Arguments for the script (or put them after a lone --).")
@argument("--conf", metavar="KEY=VALUE", action="append", default=[], help="Spark setting; repeatable.")
@argument("--name", help="Batch name shown on the server.")
@argument("--class", dest="class_name", metavar="CLASS", help="Main class of a .jar.")
@argument("--py-files", nargs="*", default=[], metavar="FILE", help="Extra Python files for the job.")
@argument("--target-lakehouse", metavar="ID", help="Fabric: default lakehouse of the job.")
@argument("--environment", metavar="ID", help="Fabric: Environment to run the job in.")
@argument("--tag", metavar="KEY=VALUE", action="append", default=[], help="Fabric tag; repeatable.")
@argument("--wait", action="store_true", help="Wait until it ends; show the outcome and the log's end.")
@argument("--timeout", type=float, metavar="S", help="With --wait: stop waiting after S seconds.")
@argument("-n", "--lines", type=int, default=BATCH_TAIL_LINES, metavar="N",
          help=f"Log lines shown at the end (default {BATCH_TAIL_LINES}).")
def _submit(line: str) -> None:
    """Run a file as a Spark batch job. Example::

        %livy batch submit jobs/daily.py --args 2024-01-01 --conf spark.executor.cores=2 --wait
    """


@set_prog("%livy batch status")
@magic_arguments()
@_BATCH_ID
@argument("--detail", action="store_true",
          help="Also its timings and Spark work (jobs, stages, tasks, executors) where Fabric's "
               "monitoring API has them.")
def _status(line: str) -> None:
    """One line: the batch's state, and why it failed if it did (--detail: a table of more)."""


@set_prog("%livy batch logs")
@magic_arguments()
@_BATCH_ID
@argument("-n", "--lines", type=int, default=BATCH_LOG_LINES, metavar="N",
          help=f"How many last lines (default {BATCH_LOG_LINES}).")
@argument("--driver", action="store_true",
          help="The Spark driver's log file (Fabric's monitoring API; Livy: its /log route).")
@argument("--stdout", action="store_true", help="With --driver: the stdout file instead of stderr.")
def _logs(line: str) -> None:
    """Show the last lines of the batch's log (driver output and Spark's log)."""


@set_prog("%livy batch cancel")
@magic_arguments()
@_BATCH_ID
def _cancel(line: str) -> None:
    """Stop the batch job; its Spark application ends."""


@set_prog("%livy batches")
@magic_arguments()
def _batches(line: str) -> None:
    """List the server's batch jobs as a table."""


PARSERS = {"batch submit": _submit, "batch status": _status, "batch logs": _logs,
           "batch cancel": _cancel, "batches": _batches}


@contextmanager
def _batch_client(state: NotebookState) -> Iterator[Any]:
    from fabric_livy_magics.livy.batches import BatchClient
    from fabric_livy_magics.livy.client import LivyClient

    target, _ = state.ensure_target()
    client = LivyClient(target.endpoint, target.token_provider)
    try:
        yield BatchClient(client)
    finally:
        client.close()


def batch(state: NotebookState, line: str) -> Any:
    """``%livy batch SUBCOMMAND ...``."""
    sub, _, rest = line.strip().partition(" ")
    handler = {"submit": submit, "status": status, "logs": logs, "cancel": cancel}.get(sub)
    if handler is None:
        raise UsageError(f"Use `%livy batch {'|'.join(SUBCOMMANDS)} ...`"
                         + (f"; {sub!r} is not one of them." if sub else "."))
    return handler(state, rest)


def submit(state: NotebookState, line: str) -> None:
    head, sep, tail = f" {line} ".partition(" -- ")
    args = parse(_submit, head.strip())
    script_args = list(args.args) + (tail.split() if sep else [])
    if args.lines < 0:
        raise UsageError(f"-n takes a number of lines >= 0; got {args.lines}.")
    conf = parse_pairs(args.conf, "--conf", refuse_secrets=True)  # magic lines are saved in notebooks
    tags = parse_pairs(args.tag, "--tag")
    with _batch_client(state) as batches:
        created = batches.create_batch(
            args.path, args=script_args, conf=conf, name=args.name, class_name=args.class_name,
            py_files=args.py_files, target_lakehouse=args.target_lakehouse,
            environment_id=args.environment, tags=tags or None)
        print(f"Submitted batch {created.id} ({created.phase}).")
        if not args.wait:
            print(f"See `%livy batch status {created.id}`; `%livy batch logs {created.id}` for its log.")
            return
        _wait(state, batches, created.id, args.timeout, args.lines)


def _wait(state: NotebookState, batches: Any, batch_id: Any, timeout: float | None, lines: int) -> None:
    from fabric_livy_magics.notebook.progress import ProgressDisplay

    began = time.monotonic()
    progress = ProgressDisplay(f"Batch {batch_id}", delay=state.settings().progress_delay)
    try:
        with progress:
            done = batches.wait_for_batch(
                batch_id, timeout=timeout,
                on_state_change=lambda b: progress.update(state=b.phase, force=progress.shown))
    except KeyboardInterrupt:
        raise LivyError(f"Stopped waiting for batch {batch_id}; it keeps running. "
                        f"`%livy batch cancel {batch_id}` stops it.") from None
    elapsed = time.monotonic() - began
    tail = list(batches.get_batch_log(batch_id, size=max(lines, 1)).lines)[-lines:] if lines else []
    if done.succeeded:
        print(f"Batch {batch_id} succeeded after {elapsed:.1f} s.")
        if tail:
            print("\n".join(tail))
        return
    failure = batches.failure(done)
    if tail:
        print("\n".join(tail))
    raise failure


def status(state: NotebookState, line: str) -> None:
    args = parse(_status, line)
    with _batch_client(state) as batches:
        current = batches.get_batch(parse_batch_id(batches.endpoint, args.batch_id))
        if args.detail:
            from fabric_livy_magics.livy.batch_detail import batch_detail

            rows = batch_detail(batches.client, current)
            print("\n".join(f"{key:<17}{value}" for key, value in rows))
            return
    name = f" ({current.name})" if current.name else ""
    app = f", application {current.app_id}" if current.app_id else ""
    reason = f": {current.error_message}" if current.error_message and not current.succeeded else ""
    print(f"Batch {current.id}{name}: {current.phase}{app}{reason}")


def logs(state: NotebookState, line: str) -> None:
    args = parse(_logs, line)
    if args.lines < 1:
        raise UsageError(f"-n takes a positive number of lines; got {args.lines}.")
    if args.stdout and not args.driver:
        raise UsageError("--stdout picks the driver's stdout file: use it with --driver.")
    with _batch_client(state) as batches:
        from fabric_livy_magics.livy.batch_detail import batch_log_tail

        lines = batch_log_tail(batches.client, parse_batch_id(batches.endpoint, args.batch_id),
                               lines=args.lines, driver=args.driver, stdout=args.stdout)
    print("\n".join(lines) if lines else "(the log is empty)")


def cancel(state: NotebookState, line: str) -> None:
    args = parse(_cancel, line)
    with _batch_client(state) as batches:
        batch_id = parse_batch_id(batches.endpoint, args.batch_id)
        batches.cancel_batch(batch_id)
        after = batches.get_batch(batch_id) if not batches.endpoint.supports_log_route else None
    print(f"Batch {batch_id} cancelled" + (f" ({after.phase})." if after is not None else "."))


def batches(state: NotebookState, line: str) -> None:
    """``%livy batches``: a table of the server's batch jobs."""
    parse(_batches, line)
    import pandas as pd
    from IPython.display import display

    with _batch_client(state) as client:
        rows = [{"id": str(item.id), "name": item.name or "-", "state": item.phase,
                 "result": item.result or "-", "app_id": item.app_id or "-"} for item in client.iter_batches()]
        where = client.endpoint.root
    if not rows:
        print(f"No batches on {where}.")
        return
    display(pd.DataFrame(rows).set_index("id"))  # the id is the row label: no 0, 1, 2 index
