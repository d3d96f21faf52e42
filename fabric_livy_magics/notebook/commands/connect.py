"""``%livy connect``: choose where the notebook's session runs, and the default when nobody did.

``-s NAME`` connects a named session (each name its own target, kind and conf) next to the
default one. In a Jupyter frontend the session then starts in the background (eager start,
``eager.py``); ``--lazy`` (or FABRIC_LIVY_EAGER_START=0) leaves it to the first cell, as in a
terminal. ``--local`` starts the embedded server if none is running.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy.endpoints import Endpoint
from fabric_livy_magics.livy.targets import (
    KINDS,
    SessionOptions,
    Target,
    TargetChoice,
    find_or_start_local_server,
    parse_pairs,
    resolve_target,
)
from fabric_livy_magics.notebook.commands.named import check_name
from fabric_livy_magics.notebook.commands.parsing import parse, set_prog
from fabric_livy_magics.notebook.commands.state import NotebookState

__all__ = ["connect", "connect_parser_func", "default_target", "resolve"]

#: What to do when nothing says where cells run (and ``LivyMagics.auto_local`` is off).
NO_ENDPOINT = ("No Livy endpoint is configured. Run `%livy connect --url URL` (Livy), "
               "`%livy connect --connection-string S` (Fabric) or `%livy connect --local`.")


@set_prog("%livy connect")
@magic_arguments()
@argument("--url", metavar="URL", help="An Apache Livy server, e.g. http://livy.example.com:8998.")
@argument("--workspace", metavar="ID", help="Fabric workspace id (with --lakehouse).")
@argument("--lakehouse", metavar="ID", help="Fabric lakehouse id (with --workspace).")
@argument("--connection-string", metavar="URL",
          help="The Lakehouse's 'Session job connection string' (Fabric).")
@argument("--local", action="store_true",
          help="Use the embedded local server (started in the background if none runs).")
@argument("--kind", choices=KINDS, help="Default language of cells (default: pyspark).")
@argument("--conf", metavar="KEY=VALUE", action="append", default=[],
          help="Spark setting for the session; repeat for several.")
@argument("--environment", metavar="ID", help="Fabric Environment to run the session in.")
@argument("--name", help="Session name shown on the server.")
@argument("--high-concurrency", action="store_true",
          help="Fabric: take a REPL in a shared high-concurrency session.")
@argument("--tag", metavar="T", help="High-concurrency session tag: sessions with one tag share Spark.")
@argument("--auth", metavar="METHOD",
          help="Sign-in method: interactive, device-code, service-principal, azure-cli, "
               "azure-default, environment, none.")
@argument("--keep", action="store_true", help="Keep the session when the kernel shuts down.")
@argument("-s", "--session", metavar="NAME",
          help="Connect the session named NAME (used by `%%%%livy -s NAME`); without it, the default one.")
@argument("--eager", action="store_true", help="Start the session now, in the background.")
@argument("--lazy", action="store_true", help="Start the session on the first cell.")
def connect_parser_func(line: str) -> None:
    """Choose where this notebook's Spark session runs. The session starts on the first cell.

    Examples::

        %livy connect --url http://127.0.0.1:8998
        %livy connect --connection-string https://api.fabric.microsoft.com/v1/workspaces/.../sessions
        %livy connect --workspace <id> --lakehouse <id> --environment <id> --conf spark.executor.cores=4
        %livy connect --local
        %livy connect -s fabric --connection-string https://api.fabric.microsoft.com/v1/workspaces/...
    """


def connect(state: NotebookState, line: str) -> str:
    """Parse ``%livy connect`` options, validate them all, then switch the notebook's target.
    (A ConfigurationError becomes a UsageError in ``commands.dispatch``.)"""
    args = parse(connect_parser_func, line)
    if args.session is not None:
        check_name(args.session)
    if args.tag and not args.high_concurrency:
        raise UsageError("--tag needs --high-concurrency.")
    if args.eager and args.lazy:
        raise UsageError("Give --eager or --lazy, not both.")
    settings = state.settings()
    options = SessionOptions(
        kind=args.kind or settings.default_kind, name=args.name,
        conf=parse_pairs(args.conf, "--conf", refuse_secrets=True), environment_id=args.environment,
        high_concurrency=args.high_concurrency, tag=args.tag, keep=args.keep)
    target, _ = resolve(state, TargetChoice.from_options(args))
    _check_options(target, options)
    if target.local_server is None and target.endpoint.is_loopback:
        check_reachable(target.endpoint)  # before anything changes: a typo keeps the old session
    with state.using(args.session, create=True):
        left = _old_session_fate(state)
        state.set_target(target, options)
        eager = _eager(state, args) and state.start_in_background()
    named = f"Session {args.session!r}: connected" if args.session else "Connected"
    return f"{named} to {target.description}. {_start_note(options, eager)}{left}"


def _eager(state: NotebookState, args: Any) -> bool:
    """--eager / --lazy, else FABRIC_LIVY_EAGER_START (1, 0; ``auto``: in a Jupyter frontend)."""
    if args.eager or args.lazy:
        return bool(args.eager)
    from fabric_livy_magics.notebook.commands.eager import eager_mode

    mode = eager_mode()
    return mode == "1" or (mode == "auto" and getattr(state.shell, "kernel", None) is not None)


def _old_session_fate(state: NotebookState) -> str:
    """What connecting elsewhere does to the session this notebook has, said once."""
    session = state.session
    if session is None or not session.started:
        return ""
    kept = not session.owned or session.options.keep
    fate = "is left running (it was attached or kept)" if kept else "is deleted"
    return f" The previous session {session.session_id} {fate}."


def check_reachable(endpoint: Endpoint, timeout: float = 3.0) -> None:
    """One TCP connection to the endpoint's host, so that "Connected" is not said of a port
    where nothing listens. No request is sent: nothing here needs a sign-in. (Used for loopback
    servers, where a wrong port is the usual mistake and the answer is certain and instant;
    a remote host may sit behind a proxy that only its HTTP client knows.)"""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint.root)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=timeout).close()
    except OSError as exc:
        raise ConfigurationError(
            f"Nothing answers at {parts.hostname}:{port} ({exc.strerror or type(exc).__name__}). "
            "Check the URL and that the server runs; the notebook's session was not changed.") from None


def _start_note(options: SessionOptions, eager: bool) -> str:
    kind = f"A {options.kind} session" if not options.high_concurrency else "A high-concurrency session"
    if eager:
        return f"{kind} is starting in the background; the first cell waits for it if needed."
    return f"{kind} starts on the first %%livy cell."


def _check_options(target: Target, options: SessionOptions) -> None:
    if options.high_concurrency and not target.is_fabric:
        raise UsageError("--high-concurrency works only with Fabric targets (--workspace/--lakehouse "
                         "or --connection-string).")
    if options.environment_id and not target.is_fabric:
        raise UsageError("--environment works only with Fabric targets.")


def resolve(state: NotebookState, choice: TargetChoice) -> tuple[Target, str | None]:
    """The shared rules (``livy/targets.resolve_target``) with this notebook's sign-in, its
    ``auto_local`` setting, and this user's shared local server (found, or started here)."""
    return resolve_target(choice, missing=NO_ENDPOINT, signed_in=state.signed_in,
                          local_server=lambda: _local_server(state), auto_local=state.settings().auto_local)


def _local_server(state: NotebookState) -> Any:
    from fabric_livy_magics.server import launcher

    server, started = find_or_start_local_server(launcher, master=state.settings().local_master, say=print)
    if started:
        state.started_server = server
    return server


def default_target(state: NotebookState) -> tuple[Target, SessionOptions]:
    """What a first ``%%livy`` uses without ``%livy connect``: the configured endpoint (Fabric,
    then FABRIC_LIVY_URL / LIVY_URL) with its Fabric Environment, else the embedded local server
    (unless ``LivyMagics.auto_local`` is off)."""
    target, environment_id = resolve(state, TargetChoice())
    return target, SessionOptions(kind=state.settings().default_kind, environment_id=environment_id)
