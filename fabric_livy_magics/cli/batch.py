"""``fabric-livy batch submit|status|logs|cancel|list``: Spark batch jobs from a shell or CI.

Where and how to sign in follow the magics' rules (``livy/targets.py``): ``--url`` (Apache Livy
or the local server), ``--connection-string`` or ``--workspace``/``--lakehouse`` (Fabric), or
``--local``; without them the same settings as the magics (FABRIC_LIVY_CONNECTION_STRING,
FABRIC_WORKSPACE_ID + FABRIC_LAKEHOUSE_ID, the config file), then FABRIC_LIVY_URL / LIVY_URL.
Sign-in: ``--auth METHOD`` or the configured method (FABRIC_LIVY_AUTH_METHOD, AZURE_* variables,
config file); a local server's shared secret; nothing for a loopback server.

Exit status: 0 when the batch succeeded (``submit --wait``), was submitted (``submit``), was
cancelled (``cancel``), or is running or succeeded (``status``); 1 when it failed or an error
occurred, with a one-line message on stderr; 2 for bad options and what is wrong before anything
is sent (no target, a missing file, a malformed id). Arguments of the script that start with
``-`` go after a lone ``--``: ``fabric-livy batch submit job.py -- --date 2026-01``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from fabric_livy_magics.livy.batches import BATCH_LOG_LINES, BATCH_TAIL_LINES, parse_batch_id

if TYPE_CHECKING:
    from fabric_livy_magics.livy.targets import Target

__all__ = ["register", "resolve"]

#: What to do when nothing says where the batch runs.
NO_ENDPOINT = ("No Livy endpoint: pass --url URL (or set FABRIC_LIVY_URL), --connection-string, "
               "or --workspace and --lakehouse.")

def register(subcommands: Any) -> None:
    """Add ``batch`` and its subcommands to the ``fabric-livy`` parser."""
    where = argparse.ArgumentParser(add_help=False)
    group = where.add_argument_group("where the batch runs")
    group.add_argument("--url", help="Apache Livy (or local server) URL; default $FABRIC_LIVY_URL.")
    group.add_argument("--connection-string", metavar="URL", help="Fabric 'Session job connection string'.")
    group.add_argument("--workspace", metavar="ID", help="Fabric workspace id (with --lakehouse).")
    group.add_argument("--lakehouse", metavar="ID", help="Fabric lakehouse id (with --workspace).")
    group.add_argument("--local", action="store_true",
                       help="The embedded local server (the running one, else one started now).")
    group.add_argument("--auth", metavar="METHOD", help="Sign-in method: interactive, device-code, "
                       "service-principal, azure-cli, azure-default, environment, none.")
    group.add_argument("--http-timeout", type=float, default=30.0, metavar="S", help="Seconds per HTTP call.")

    parser = subcommands.add_parser(
        "batch", help="Submit, watch, read the log of and cancel Spark batch jobs.",
        description="Run a PySpark file or JAR as a Spark batch job on Fabric, Apache Livy or the local server.")
    actions = parser.add_subparsers(dest="batch_command", metavar="ACTION", required=True)

    submit = actions.add_parser("submit", parents=[where], help="Submit a file as a batch job.",
                                description="Submit a file; prints the batch id (with --wait: waits, "
                                "exit status 0 only if the job succeeded).")
    submit.add_argument("path", metavar="PATH", help="Local path or file:// URL (local server), abfss://... (Fabric), or a notebook (.ipynb), exported first.")
    submit.add_argument("--args", nargs="*", default=[], metavar="ARG",
                        help="Arguments for the script; those starting with - go after a lone --.")
    submit.add_argument("--conf", metavar="KEY=VALUE", action="append", default=[], help="Spark setting; repeatable.")
    submit.add_argument("--name", help="Batch name shown on the server.")
    submit.add_argument("--class", dest="class_name", metavar="CLASS", help="Main class of a .jar.")
    submit.add_argument("--py-files", nargs="*", default=[], metavar="FILE", help="Extra Python files.")
    submit.add_argument("--target-lakehouse", metavar="ID", help="Fabric: default lakehouse of the job.")
    submit.add_argument("--environment", metavar="ID", help="Fabric: Environment to run the job in.")
    submit.add_argument("--tag", metavar="KEY=VALUE", action="append", default=[], help="Fabric tag; repeatable.")
    submit.add_argument("--wait", action="store_true", help="Wait until the job ends; exit 0 only if it succeeded.")
    submit.add_argument("--timeout", type=float, metavar="S", help="With --wait: give up after S seconds (exit 1).")
    submit.add_argument("-n", "--lines", type=int, default=BATCH_TAIL_LINES, metavar="N",
                        help=f"Log lines shown at the end (default {BATCH_TAIL_LINES}).")
    submit.set_defaults(handler=_submit)
    from fabric_livy_magics.cli.jobs import add_notebook_options

    add_notebook_options(submit)  # --param, --strict, --upload-dir, --script-url when PATH is a .ipynb

    for name, handler, text in (("status", _status, "Print the batch's state (exit 1 if it failed)."),
                                ("logs", _logs, "Print the last lines of the batch's log."),
                                ("cancel", _cancel, "Cancel the batch job.")):
        sub = actions.add_parser(name, parents=[where], help=text, description=text)
        sub.add_argument("batch_id", metavar="ID", help="Batch id (a number on Livy, a GUID on Fabric).")
        if name == "logs":
            sub.add_argument("-n", "--lines", type=int, default=BATCH_LOG_LINES, metavar="N",
                             help=f"How many last lines (default {BATCH_LOG_LINES}).")
            sub.add_argument("--driver", action="store_true",
                             help="The Spark driver's log file (Fabric's monitoring API; Livy: its /log route).")
            sub.add_argument("--stdout", action="store_true", help="With --driver: its stdout file, not stderr.")
        if name == "status":
            sub.add_argument("--detail", action="store_true",
                             help="Also timings and Spark work (jobs, stages, tasks, executors) where "
                                  "Fabric's monitoring API has them.")
        sub.set_defaults(handler=handler)
    listing = actions.add_parser("list", parents=[where], help="List batch jobs.", description="List batch jobs.")
    listing.add_argument("--top", type=int, default=100, metavar="N", help="At most N batches (default 100).")
    listing.set_defaults(handler=_list)


# --- plumbing ------------------------------------------------------------------------------

def _fail(message: str) -> int:
    print(f"fabric-livy batch: {message}", file=sys.stderr)
    return 1


def resolve(args: argparse.Namespace) -> Target:
    """Where the batch runs and how requests are signed: the magics' rules
    (``livy/targets.resolve_target``), without a notebook sign-in and without starting the local
    server unless ``--local`` asks for it."""
    from fabric_livy_magics.livy.targets import TargetChoice, resolve_target

    target, _ = resolve_target(TargetChoice.from_options(args), missing=NO_ENDPOINT,
                               local_server=_local_server)
    return target


def _local_server() -> Any:
    """The embedded server this user runs (as the magics find it), else one started now."""
    from fabric_livy_magics.livy.targets import configured_local_master, find_or_start_local_server
    from fabric_livy_magics.server import launcher

    server, _ = find_or_start_local_server(launcher, master=configured_local_master(),
                                           say=lambda text: print(text, file=sys.stderr))
    return server


def _batch_client(args: argparse.Namespace) -> Any:
    from fabric_livy_magics.livy.batches import BatchClient
    from fabric_livy_magics.livy.client import LivyClient

    target = resolve(args)
    client = LivyClient(target.endpoint, target.token_provider,
                        timeout=(min(5.0, args.http_timeout), args.http_timeout))
    return BatchClient(client)


def _check_lines(lines: int, least: int) -> None:
    """``-n`` as the magics check it (a ConfigurationError: exit status 2)."""
    from fabric_livy_magics.errors import ConfigurationError

    if lines < least:
        what = "a positive number of lines" if least > 0 else "a number of lines >= 0"
        raise ConfigurationError(f"-n takes {what}; got {lines}.")


# --- actions -------------------------------------------------------------------------------

def _submit(args: argparse.Namespace) -> int:
    from fabric_livy_magics.livy.targets import parse_pairs

    _check_lines(args.lines, 0)
    conf, tags = parse_pairs(args.conf, "--conf"), parse_pairs(args.tag, "--tag")
    batches = _batch_client(args)
    with batches.client:
        if args.path.lower().endswith(".ipynb"):  # a notebook: export it, put the script where the target reads it
            from fabric_livy_magics.cli.jobs import notebook_job

            args = notebook_job(args, batches.endpoint)
        created = batches.create_batch(
            args.path, args=[*args.args, *getattr(args, "passthrough", [])], conf=conf, name=args.name,
            class_name=args.class_name, py_files=args.py_files, target_lakehouse=args.target_lakehouse,
            environment_id=args.environment, tags=tags or None)
        if not args.wait:
            print(created.id)
            print(f"Submitted batch {created.id} ({created.phase}).", file=sys.stderr)
            return 0
        print(f"Submitted batch {created.id}.", file=sys.stderr)
        return _wait(batches, created.id, args.timeout, args.lines)


def _wait(batches: Any, batch_id: Any, timeout: float | None, lines: int) -> int:
    from fabric_livy_magics.livy.progress import TerminalProgress

    began = time.monotonic()
    interactive = sys.stderr.isatty()
    progress = TerminalProgress(f"Batch {batch_id}", delay=0.0, enabled=interactive)

    def show(batch: Any) -> None:
        progress.update(state=batch.phase, force=True)
        if not interactive:
            print(f"Batch {batch_id}: {batch.phase}", file=sys.stderr)

    try:
        with progress:
            done = batches.wait_for_batch(batch_id, timeout=timeout, on_state_change=show)
    except KeyboardInterrupt:
        return _fail(f"stopped waiting for batch {batch_id}; it keeps running "
                     f"(fabric-livy batch cancel {batch_id} stops it).")
    tail = list(batches.get_batch_log(batch_id, size=max(lines, 1)).lines)[-lines:] if lines else []
    if tail:
        print("\n".join(tail))
    if done.succeeded:
        print(f"Batch {batch_id} succeeded after {time.monotonic() - began:.1f} s.", file=sys.stderr)
        return 0
    return _fail(str(batches.failure(done)))


def _status(args: argparse.Namespace) -> int:
    batches = _batch_client(args)
    with batches.client:
        batch = batches.get_batch(parse_batch_id(batches.endpoint, args.batch_id))
        if args.detail:
            from fabric_livy_magics.livy.batch_detail import batch_detail

            print("\n".join(f"{key}\t{value}" for key, value in batch_detail(batches.client, batch)))
    if not args.detail:
        reason = f": {batch.error_message}" if batch.error_message and not batch.succeeded else ""
        print(f"{batch.id}\t{batch.phase}{reason}")
    failed = batch.is_finished and not batch.succeeded
    return 1 if failed else 0


def _logs(args: argparse.Namespace) -> int:
    _check_lines(args.lines, 1)
    if args.stdout and not args.driver:
        from fabric_livy_magics.errors import ConfigurationError

        raise ConfigurationError("--stdout picks the driver's stdout file: use it with --driver.")
    batches = _batch_client(args)
    with batches.client:
        from fabric_livy_magics.livy.batch_detail import batch_log_tail

        lines = batch_log_tail(batches.client, parse_batch_id(batches.endpoint, args.batch_id),
                               lines=args.lines, driver=args.driver, stdout=args.stdout)
    if lines:
        print("\n".join(lines))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    batches = _batch_client(args)
    with batches.client:
        batch_id = parse_batch_id(batches.endpoint, args.batch_id)
        batches.cancel_batch(batch_id)
    print(f"Batch {batch_id} cancelled.", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    batches = _batch_client(args)
    with batches.client:
        items = []
        for batch in batches.iter_batches(page_size=min(100, max(1, args.top))):
            items.append(batch)
            if len(items) >= args.top:
                break
    if not items:
        print("No batches.", file=sys.stderr)
        return 0
    print("ID\tSTATE\tNAME\tAPP ID")
    for batch in items:
        print(f"{batch.id}\t{batch.phase}\t{batch.name or '-'}\t{batch.app_id or '-'}")
    return 0
