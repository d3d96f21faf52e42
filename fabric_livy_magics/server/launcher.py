"""Start ``fabric-livy serve`` as a subprocess from Python, or find one already running.

``start_server`` waits for the server's listening line and returns a ``RunningServer``: a private
server, a child of the caller. ``start_server(remember=True)`` starts this user's shared server
instead (``shared.py``): what the notebook and ``fabric-livy batch`` start on their own, detached
from the kernel that started it and stopping itself once nobody uses it. ``find_running_server``
reads its state file and checks the server still answers ``GET /version``, so every kernel
reuses it.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

from fabric_livy_magics.server import shared
from fabric_livy_magics.server.children import descendants, running
from fabric_livy_magics.server.config import TOKEN_ENV
from fabric_livy_magics.server.shared import state_file

__all__ = ["RunningServer", "ServerStartError", "find_running_server", "start_server", "state_file"]

_LISTENING = re.compile(r"^fabric-livy serve: listening on (http://\S+)$")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class ServerStartError(RuntimeError):
    """The server did not print its listening line in time (the message carries its log tail)."""


@dataclass
class RunningServer:
    """A local server process: its base URL and how to stop it."""

    url: str
    pid: int
    log_path: Path | None = None
    token: str | None = field(default=None, repr=False)
    _popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    #: The log is a temporary file made for this server: removed when it is stopped.
    _own_log: bool = field(default=False, repr=False)

    def fabric_url(self, workspace_id: str, lakehouse_id: str) -> str:
        """The Fabric-shaped Livy API base URL on this server."""
        return f"{self.url}/v1/workspaces/{workspace_id}/lakehouses/{lakehouse_id}/livyApi/versions/2023-12-01"

    def alive(self) -> bool:
        if self._popen is not None:
            return self._popen.poll() is None
        try:
            return running(psutil.Process(self.pid))  # a zombie (not reaped by its parent yet) is gone
        except psutil.Error:
            return False

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM (the server stops its sessions), wait; then kill whatever of its tree is left."""
        try:
            tree = [psutil.Process(self.pid), *descendants(self.pid)]
        except psutil.Error:
            tree = []
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGTERM)
        if self._popen is not None:
            try:
                self._popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        else:
            psutil.wait_procs(tree[:1], timeout=timeout)
        leftovers = [p for p in tree if running(p)]
        for proc in leftovers:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(leftovers, timeout=5)
        if self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=5)
        shared.forget(self.pid)
        if self._own_log and self.log_path is not None:
            with contextlib.suppress(OSError):
                self.log_path.unlink()


def start_server(
    port: int = 0,
    master: str | None = None,
    token: str | None = None,
    extra_args: Sequence[str] = (),
    log_path: str | os.PathLike[str] | None = None,
    *,
    remember: bool = False,
    warm: int | None = None,
    timeout: float = START_TIMEOUT,
    cwd: str | os.PathLike[str] | None = None,
) -> RunningServer:
    """Start ``python -m fabric_livy_magics.server serve`` on loopback and wait until it listens.

    ``warm``: pre-started Spark processes (``--warm``). A private server gets none unless asked
    (most callers start one for a session or two, which a pool would not speed up but would cost
    a Spark process); the shared one (``remember=True``) gets ``FABRIC_LIVY_LOCAL_WARM``, default 1.
    ``cwd`` is the server's working directory (default: ours); relative paths in session code
    resolve against it. ``remember=True``: this user's shared server (see ``shared.py``), found
    rather than started when another caller started it meanwhile; its shared secret is ``token``,
    else a new one.
    """
    if remember:
        with shared.start_lock():
            found = find_running_server()
            if found is not None:
                return found
            secret = token or shared.new_secret()
            try:
                settings = ["--warm", str(shared.warm() if warm is None else warm), "--idle-exit", shared.idle_exit()]
            except ValueError as exc:
                raise ServerStartError(f"The local Livy server was not started: {exc}") from None
            args = _serve_args(port, master, None, [*settings, *extra_args])
            path, offset, popen = shared.spawn(args, _env(secret), log_path, cwd)
            url = _wait_for_listening(popen, timeout, path, offset)
            server = RunningServer(url=url, pid=popen.pid, log_path=path, token=secret, _popen=popen)
            shared.remember(server.url, server.pid, secret, path)
            return server
    own_log = log_path is None
    path = Path(log_path) if log_path is not None else shared.temporary_log()
    args = _serve_args(port, master, warm or 0, extra_args)
    with open(path, "ab") as log:
        popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, env=_env(token),
            start_new_session=True, cwd=cwd,
        )
    url = _wait_for_listening(popen, timeout, path)
    return RunningServer(url=url, pid=popen.pid, log_path=path, token=token, _popen=popen, _own_log=own_log)


def _serve_args(port: int, master: str | None, warm: int | None, extra_args: Sequence[str]) -> list[str]:
    args = [sys.executable, "-m", "fabric_livy_magics.server", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if master:
        args += ["--master", master]
    if warm is not None:
        args += ["--warm", str(warm)]
    return [*args, *extra_args]


def _env(token: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(TOKEN_ENV, None)
    if token:
        env[TOKEN_ENV] = token  # not on the command line, where `ps` shows it
    return env


def _wait_for_listening(popen: subprocess.Popen[bytes], timeout: float, log_path: Path, offset: int | None = None) -> str:
    """The URL from the server's listening line: on its stdout, or (``offset`` given) in its log
    from that byte on."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump(stream: IO[bytes]) -> None:
        for raw in stream:  # keep draining after the line, so the pipe never fills
            lines.put(raw.decode("utf-8", "replace").strip())
        lines.put(None)

    if offset is None:
        assert popen.stdout is not None
        threading.Thread(target=pump, args=(popen.stdout,), daemon=True).start()
    else:
        threading.Thread(target=shared.follow, args=(log_path, offset, popen, lines.put), daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(0.0, remaining)) if remaining > 0 else None
        except queue.Empty:
            line = None
        if line is not None:
            match = _LISTENING.match(line)
            if match:
                return match.group(1)
            continue
        if popen.poll() is None:
            popen.kill()
            popen.wait(timeout=10)
            reason = f"did not start listening within {timeout:g} s"
        else:
            reason = f"exited with code {popen.returncode}"
        tail = _log_tail(log_path, offset or 0)
        detail = (": " + " | ".join(tail)) if tail else ""
        raise ServerStartError(f"The local Livy server {reason}{detail} (log: {log_path}).")


def _log_tail(log_path: Path, offset: int, lines: int = 3) -> list[str]:
    """The last lines this start wrote, without argparse's usage lines."""
    try:
        with open(log_path, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    kept = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith((" ", "usage:"))]
    return kept[-lines:]


def find_running_server(timeout: float = 2.0) -> RunningServer | None:
    """This user's shared server (``start_server(remember=True)``) if it is alive and answers; else None."""
    record = shared.recorded()
    if record is None:
        return None
    url, pid, token, log_path = record
    if not psutil.pid_exists(pid):
        return None
    request = urllib.request.Request(url + "/version")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - loopback URL we wrote
            if answer.status != 200 or "version" not in json.loads(answer.read()):
                return None
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return RunningServer(url=url, pid=pid, log_path=log_path, token=token)
