"""This user's shared local server: the one the notebook and ``fabric-livy batch`` start on their own.

Every kernel uses the same server, so none of them owns it: it runs detached (its own session and
process group: a kernel's shutdown, which signals the kernel's group, leaves it running), and it
stops itself after ``FABRIC_LIVY_LOCAL_IDLE_EXIT`` (default 10 minutes) with no session and no
request (``fabric-livy serve --idle-exit``). A kernel that finds it gone starts the next one.

It is found through files in ``$XDG_CACHE_HOME/fabric-livy/`` (default ``~/.cache``), a folder
only the user may enter:

- ``local-server.json``: url, pid, log path and the path of the secret file (no secret);
- ``local-server.token``: the server's shared secret, mode 0600, new for each server;
- ``local-server.log``: the server's output, moved to ``local-server.log.1`` at the next start once
  it passed 1 MiB (so at most two, bounded files);
- ``local-server.lock``: held while a server is being started, so two kernels starting at once
  get one server.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "IDLE_EXIT_ENV", "WARM_ENV", "follow", "forget", "idle_exit", "new_secret", "recorded", "remember",
    "spawn", "start_lock", "state_file", "temporary_log", "warm",
]  # fmt: skip

#: How long the shared server waits, unused, before it stops (a ``--idle-exit`` duration).
IDLE_EXIT_ENV = "FABRIC_LIVY_LOCAL_IDLE_EXIT"
DEFAULT_IDLE_EXIT = "10m"
#: Pre-started Spark processes of the shared server (``--warm``).
WARM_ENV = "FABRIC_LIVY_LOCAL_WARM"
DEFAULT_WARM = "1"
LOG_ROTATE_BYTES = 1 << 20


def state_file() -> Path:
    """Where the shared server is recorded (``$XDG_CACHE_HOME/fabric-livy/local-server.json``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fabric-livy" / "local-server.json"


def _folder() -> Path:
    folder = state_file().parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def idle_exit() -> str:
    """``FABRIC_LIVY_LOCAL_IDLE_EXIT`` (a duration such as ``15m``); ValueError naming it if it is not one."""
    from fabric_livy_magics.server.bodies import parse_duration

    value = os.environ.get(IDLE_EXIT_ENV, "").strip() or DEFAULT_IDLE_EXIT
    try:
        parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{IDLE_EXIT_ENV}: {exc}") from None
    return value


def warm() -> int:
    """``FABRIC_LIVY_LOCAL_WARM``; ValueError naming it if it is not a count ``serve --warm`` takes."""
    from fabric_livy_magics.server.cli import MAX_WARM

    value = os.environ.get(WARM_ENV, "").strip() or DEFAULT_WARM
    if not (value.isascii() and value.isdigit() and int(value) <= MAX_WARM):
        raise ValueError(f"{WARM_ENV} must be a whole number from 0 to {MAX_WARM}, got {value[:20]!r}.")
    return int(value)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@contextlib.contextmanager
def start_lock() -> Iterator[None]:
    """Held while the shared server is looked for and started (one at a time per user)."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): two kernels starting at the same moment get two servers
        yield
        return
    with open(_folder() / "local-server.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600), replacing it at once."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mkstemp files are 0600
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(name, path)


def spawn(args: list[str], env: dict[str, str], log_path: str | os.PathLike[str] | None,
          cwd: str | os.PathLike[str] | None) -> tuple[Path, int, subprocess.Popen[bytes]]:
    """Start the server detached, its output appended to its log: (log, where this start's output
    begins in it, the process)."""
    path = Path(log_path) if log_path is not None else _folder() / "local-server.log"
    with contextlib.suppress(OSError):
        if path.stat().st_size > LOG_ROTATE_BYTES:
            os.replace(path, path.with_name(path.name + ".1"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as log:
        offset = log.seek(0, os.SEEK_END)
        popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=cwd, start_new_session=True
        )
    return path, offset, popen


def follow(path: Path, offset: int, popen: subprocess.Popen[bytes], put: Callable[[str | None], None],
           until: re.Pattern[str] = re.compile(r"^fabric-livy serve: listening on ")) -> None:
    """Pass each line written to ``path`` from ``offset`` on to ``put``, until one matches ``until``
    or the process ended (then None)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        pending = b""
        while True:
            chunk = handle.read()
            if chunk:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    line = raw.decode("utf-8", "replace").strip()
                    put(line)
                    if until.match(line):
                        return
            elif popen.poll() is not None:
                put(None)
                return
            else:
                time.sleep(0.05)


def remember(url: str, pid: int, secret: str, log_path: Path) -> None:
    """Record the shared server; its secret goes to its own 0600 file."""
    folder = _folder()
    token_path = folder / "local-server.token"
    _write_private(token_path, secret)
    record = {"url": url, "pid": pid, "token_file": str(token_path), "log_path": str(log_path)}
    _write_private(state_file(), json.dumps(record))


def recorded() -> tuple[str, int, str | None, Path | None] | None:
    """(url, pid, secret, log) of the recorded server, or None when nothing (readable) is recorded."""
    try:
        data = json.loads(state_file().read_text())
        url, pid = str(data["url"]), int(data["pid"])
        token = data.get("token")  # written inline by earlier versions (in the same 0600 file)
        if data.get("token_file"):
            token = Path(data["token_file"]).read_text().strip()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url, pid, token, Path(data["log_path"]) if data.get("log_path") else None


def forget(pid: int) -> None:
    """Drop the record and secret of server ``pid`` (stopped), if it is the recorded one."""
    path = state_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(data, dict) and data.get("pid") == pid:
        token_file = Path(str(data.get("token_file") or path))
        for name in {path, token_file} if token_file.parent == path.parent else {path}:
            with contextlib.suppress(OSError):
                name.unlink()


def temporary_log() -> Path:
    """A new temporary log file for a private server (removed when that server is stopped)."""
    handle, name = tempfile.mkstemp(prefix="fabric-livy-serve-", suffix=".log")
    os.close(handle)
    return Path(name)
