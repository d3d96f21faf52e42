"""Start ``fabric-livy serve`` as a subprocess from Python, or find one already running.

``start_server`` waits for the server's listening line and returns a ``RunningServer``;
``find_running_server`` reads a per-user state file written by ``start_server(remember=True)``
and checks the server still answers ``GET /version``, so a second notebook reuses it.
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
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

from fabric_livy_magics.server.children import descendants, running
from fabric_livy_magics.server.config import TOKEN_ENV

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

    def fabric_url(self, workspace_id: str, lakehouse_id: str) -> str:
        """The Fabric-shaped Livy API base URL on this server."""
        return f"{self.url}/v1/workspaces/{workspace_id}/lakehouses/{lakehouse_id}/livyApi/versions/2023-12-01"

    def alive(self) -> bool:
        if self._popen is not None:
            return self._popen.poll() is None
        return psutil.pid_exists(self.pid)

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
        _forget(self)


def state_file() -> Path:
    """Where ``remember=True`` records the server (``$XDG_CACHE_HOME/fabric-livy/local-server.json``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fabric-livy" / "local-server.json"


def start_server(
    port: int = 0,
    master: str | None = None,
    token: str | None = None,
    extra_args: Sequence[str] = (),
    log_path: str | os.PathLike[str] | None = None,
    *,
    remember: bool = False,
    timeout: float = START_TIMEOUT,
    cwd: str | os.PathLike[str] | None = None,
) -> RunningServer:
    """Start ``python -m fabric_livy_magics.server serve`` on loopback and wait until it listens.

    ``cwd`` is the server's working directory (default: ours); relative paths in session code
    resolve against it.
    """
    args = [sys.executable, "-m", "fabric_livy_magics.server", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if master:
        args += ["--master", master]
    args += list(extra_args)
    env = dict(os.environ)
    if token:
        env[TOKEN_ENV] = token  # not on the command line, where `ps` shows it
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="fabric-livy-serve-", suffix=".log")
        os.close(handle)
        log_path = name
    path = Path(log_path)
    with open(path, "ab") as log:
        popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, env=env, start_new_session=True, cwd=cwd
        )
    url = _wait_for_listening(popen, timeout, path)
    server = RunningServer(url=url, pid=popen.pid, log_path=path, token=token, _popen=popen)
    if remember:
        _remember(server)
    return server


def _wait_for_listening(popen: subprocess.Popen[bytes], timeout: float, log_path: Path) -> str:
    lines: queue.Queue[str | None] = queue.Queue()
    assert popen.stdout is not None

    def pump(stream: IO[bytes]) -> None:
        for raw in stream:  # keep draining after the line, so the pipe never fills
            lines.put(raw.decode("utf-8", "replace").strip())
        lines.put(None)

    threading.Thread(target=pump, args=(popen.stdout,), daemon=True).start()
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
        tail = log_path.read_text("utf-8", "replace").strip().splitlines()[-5:] if log_path.exists() else []
        detail = (": " + " | ".join(tail)) if tail else ""
        raise ServerStartError(f"The local Livy server {reason}{detail} (log: {log_path}).")


def _remember(server: RunningServer) -> None:
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"url": server.url, "pid": server.pid, "log_path": str(server.log_path or "")}
    if server.token:
        data["token"] = server.token
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)


def _forget(server: RunningServer) -> None:
    path = state_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if data.get("pid") == server.pid:
        with contextlib.suppress(OSError):
            path.unlink()


def find_running_server(timeout: float = 2.0) -> RunningServer | None:
    """The server recorded by ``start_server(remember=True)`` if it is alive and answers; else None."""
    try:
        data = json.loads(state_file().read_text())
        url, pid = str(data["url"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not psutil.pid_exists(pid):
        return None
    token = data.get("token")
    request = urllib.request.Request(url + "/version")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - loopback URL we wrote
            if answer.status != 200 or "version" not in json.loads(answer.read()):
                return None
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return RunningServer(url=url, pid=pid, log_path=Path(data["log_path"]) if data.get("log_path") else None, token=token)
