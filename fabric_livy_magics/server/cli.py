"""``fabric-livy serve``: run the local Livy-compatible server until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from typing import Any

from fabric_livy_magics.server.config import TOKEN_ENV, ServerConfig

__all__ = ["MIN_TOKEN_LENGTH", "register", "serve", "weak_token_problem"]

LISTENING = "fabric-livy serve: listening on http://{host}:{port}"


def register(subcommands: Any) -> None:
    """Add the ``serve`` subcommand to the ``fabric-livy`` parser."""
    parser = subcommands.add_parser(
        "serve",
        help="Run a local Livy-compatible server on real PySpark (Livy and Fabric URL shapes).",
        description=(
            "Run a local Livy-compatible REST server executing PySpark and SQL statements. It speaks "
            "Apache Livy's URL shape and Microsoft Fabric's Livy API shape over the same sessions."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="Interface to bind (default 127.0.0.1).")
    parser.add_argument("--port", type=int, default=8998, help="Port (default 8998; 0 picks a free port).")
    parser.add_argument("--master", default="local[*]", help="Spark master URL for sessions (default local[*]).")
    parser.add_argument(
        "--session-ttl", metavar="DURATION", help="Stop sessions idle this long, e.g. 600 or 30m (default: never)."
    )
    parser.add_argument("--max-sessions", type=int, default=8, help="Sessions running at once (default 8; 0 = no limit).")
    parser.add_argument(
        "--spark-conf", metavar="KEY=VALUE", action="append", default=[], help="Spark conf for every session (repeatable)."
    )
    parser.add_argument("--sql-max-rows", type=int, default=1000, help="Rows returned by a sql statement (default 1000).")
    parser.add_argument(
        "--warm", type=int, default=1, metavar="N",
        help="Pre-started Spark processes kept ready, so a new session is idle in well under a second "
             "(default 1; 0 = start every session fresh). A session whose settings need its own JVM "
             "(driver memory, jars, spark.master, a static spark.sql setting) starts fresh and says why.",
    )
    parser.add_argument(
        "--idle-exit", metavar="DURATION",
        help="Stop the server after this long with no session running and no request, e.g. 600 or 15m (default: never).",
    )
    parser.add_argument(
        "--allow-remote", action="store_true", help="Allow a non-loopback --host (requires --token: this server runs any code)."
    )
    parser.add_argument(
        "--token", help=f"Require 'Authorization: Bearer TOKEN' on every request (or set {TOKEN_ENV})."
    )
    parser.add_argument(
        "--max-body-mb", type=float, default=64.0, metavar="MB",
        help="Largest request body accepted, in MB (default 64; larger ones get 413).",
    )
    parser.add_argument(
        "--body-timeout", type=float, default=60.0, metavar="SECONDS",
        help="Time a request body may take to arrive (default 60; slower ones get 408).",
    )
    parser.add_argument(
        "--header-timeout", type=float, default=10.0, metavar="SECONDS",
        help="Time a request's headers may take to arrive before the connection is closed (default 10).",
    )
    parser.set_defaults(handler=serve)


#: Pre-started processes at most (``--warm``).
MAX_WARM = 8
#: A shared secret shorter than this can be guessed over the network.
MIN_TOKEN_LENGTH = 16
MAKE_TOKEN = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def weak_token_problem(token: str) -> str | None:
    """Why ``token`` is too weak to protect a server that runs any code, or None if it is fine."""
    if not token.strip():
        return f"it is blank. Make one with: {MAKE_TOKEN}"
    if token != token.strip() or any(ch.isspace() for ch in token):
        return "it contains whitespace, which HTTP headers do not keep intact."
    if not (token.isascii() and token.isprintable()):
        return f"it has characters other than printable ASCII. Make one with: {MAKE_TOKEN}"
    if len(token) < MIN_TOKEN_LENGTH:
        return f"it has {len(token)} characters; use at least {MIN_TOKEN_LENGTH}. Make one with: {MAKE_TOKEN}"
    return None


def _fail(message: str) -> int:
    print(f"fabric-livy serve: {message}", file=sys.stderr)
    return 2


def serve(args: argparse.Namespace) -> int:
    """Check the options, bind, print the listening line, serve until a signal, stop every session."""
    from fabric_livy_magics.server.bodies import parse_duration

    token = args.token if args.token is not None else os.environ.pop(TOKEN_ENV, None)
    if not (0 < args.max_body_mb <= 4096):
        return _fail(f"bad --max-body-mb {args.max_body_mb:g}: use a size above 0 and up to 4096")
    for option, seconds in (("--body-timeout", args.body_timeout), ("--header-timeout", args.header_timeout)):
        if not (0 < seconds <= 3600):
            return _fail(f"bad {option} {seconds:g}: use seconds above 0 and up to 3600")
    from fabric_livy_magics.server.guard import is_loopback_name  # the server's own rule; loads starlette

    if not is_loopback_name(args.host) and not (args.allow_remote and token):
        return _fail(
            f"refusing to listen on non-loopback host {args.host}: this server runs any code it is sent. "
            "Pass --allow-remote and --token SECRET to do it anyway."
        )
    if token is not None:
        problem = weak_token_problem(token)
        if problem:
            return _fail(f"refusing the shared secret (--token or {TOKEN_ENV}): {problem}")
    if not 0 <= args.warm <= MAX_WARM:
        return _fail(f"bad --warm {args.warm}: use 0 to {MAX_WARM} (each one holds a Spark process, about 1 GiB)")
    idle_exit = None
    if args.idle_exit:
        try:
            idle_exit = parse_duration(args.idle_exit)
        except ValueError as exc:
            return _fail(f"bad --idle-exit: {exc}")
    ttl = None
    if args.session_ttl:
        try:
            ttl = parse_duration(args.session_ttl)
        except ValueError as exc:
            return _fail(f"bad --session-ttl: {exc}")
    conf: dict[str, str] = {}
    for item in args.spark_conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            return _fail(f"bad --spark-conf '{item}': use KEY=VALUE, e.g. spark.sql.shuffle.partitions=8")
        conf[key.strip()] = value
    if args.port < 0 or args.port > 65535:
        return _fail(f"bad --port {args.port}: use 0-65535")
    try:
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this: headers and body go out as separate writes, and
        # Nagle + delayed ACK would otherwise add ~40 ms to every answer.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((args.host, args.port))
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}. Pick another --port (0 = any free one).")
    config = ServerConfig(
        master=args.master, session_ttl=ttl, max_sessions=max(0, args.max_sessions), spark_conf=conf,
        sql_max_rows=args.sql_max_rows, warm=args.warm,
    )
    return asyncio.run(_run(sock, config, token, args, idle_exit))


async def _run(sock: socket.socket, config: ServerConfig, token: str | None, args: argparse.Namespace,
               idle_exit: float | None) -> int:
    import uvicorn

    from fabric_livy_magics.server.app import build_app
    from fabric_livy_magics.server.connections import protocol_with_header_deadline
    from fabric_livy_magics.server.idle import Activity, exit_when_idle
    from fabric_livy_magics.server.sessions import Registry

    class _Server(uvicorn.Server):
        """uvicorn re-raises a caught SIGTERM/SIGINT once ``serve()`` returns, which would kill
        this process before the ``finally`` below stops the session and batch processes. We
        take the signal as "stop serving" only, and exit normally after cleaning up."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl-C: stop waiting for open connections
            else:
                self.should_exit = True

    registry = Registry(config)
    activity = Activity(
        build_app(registry, token, max_body_bytes=int(args.max_body_mb * 1024 * 1024), body_timeout=args.body_timeout)
    )
    server = _Server(
        uvicorn.Config(
            activity,
            log_level="warning", access_log=False, lifespan="off",
            # Bounds per connection: headers arrive in time and stay small, idle keep-alive
            # connections close, and too many connections at once get 503 instead of exhausting
            # the process.
            http=protocol_with_header_deadline(args.header_timeout), timeout_keep_alive=15,
            h11_max_incomplete_event_size=64 * 1024, limit_concurrency=256,
        )
    )
    host, port = sock.getsockname()[:2]

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        display = f"[{host}]" if ":" in host else host
        print(LISTENING.format(host=display, port=port), flush=True)

    def stop() -> None:
        server.should_exit = True

    tasks = [asyncio.create_task(announce())]
    if idle_exit:
        tasks.append(asyncio.create_task(exit_when_idle(activity, registry, idle_exit, stop)))
    try:
        await server.serve(sockets=[sock])
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.to_thread(registry.shutdown)
    return 0
