"""One session process seen from the server: spawn, talk JSON lines, collect its log, stop it.

Each child runs in its own process group (with its JVM), so stopping it can signal the whole
group (see ``children.end_process_group``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

import psutil

from fabric_livy_magics.server.children import child_env, descendants, end_process_group
from fabric_livy_magics.server.repl import process_name

__all__ = ["SessionProcess", "find_session_process"]

REPL_MODULE = "fabric_livy_magics.server.repl"


def find_session_process(server_pid: int, session_id: int) -> psutil.Process | None:
    """The live process of session ``session_id`` under server ``server_pid``: told by its
    ``--session-id``, or for a process taken from the pool, by the name it took when claimed."""
    for child in descendants(server_pid):
        try:
            argv = child.cmdline()
            name = child.name()
        except psutil.Error:  # gone, or a zombie
            continue
        if REPL_MODULE not in argv:
            continue
        if "--session-id" in argv and argv[argv.index("--session-id") + 1] == str(session_id):
            return child
        if "--pool-slot" in argv and name == process_name(session_id)[:15]:
            return child
    return None


class SessionProcess:
    """A running ``server.repl`` child with callbacks for its messages, log lines and exit."""

    def __init__(
        self,
        *,
        session_id: int | None,
        master: str,
        app_name: str,
        conf: dict[str, str],
        max_rows: int,
        on_message: Callable[[dict[str, Any]], None],
        on_log: Callable[[str], None],
        on_exit: Callable[[int], None],
        pool_slot: int | None = None,
    ) -> None:
        """``session_id`` names the session; ``pool_slot`` (with ``session_id`` None) starts a
        pooled process that waits to be claimed (``warm_pool.py``)."""
        self._on_message = on_message
        self._on_log = on_log
        self._on_exit = on_exit
        self._write_lock = threading.Lock()
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # A local master's driver (and its Spark UI, which binds SPARK_LOCAL_IP or else every
        # interface) stays on loopback; a cluster's executors must reach it, so others keep Spark's default.
        loopback = {"SPARK_LOCAL_IP": "127.0.0.1"} if master.startswith("local") and "SPARK_LOCAL_IP" not in os.environ else {}
        env = child_env(FABRIC_LIVY_SESSION_CONF=json.dumps(conf), **loopback)
        argv = [
            sys.executable, "-m", REPL_MODULE,
            "--in-fd", str(to_child_r), "--out-fd", str(from_child_w),
            "--master", master, "--app-name", app_name, "--max-rows", str(max_rows),
            *(["--pool-slot", str(pool_slot)] if session_id is None else ["--session-id", str(session_id)]),
        ]  # fmt: skip
        try:
            self.popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(to_child_r, from_child_w),
                start_new_session=True,
                env=env,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.pid = self.popen.pid
        self._to_child: IO[bytes] = os.fdopen(to_child_w, "wb")
        self._from_child: IO[bytes] = os.fdopen(from_child_r, "rb")
        self._readers = [
            threading.Thread(target=self._read_messages, daemon=True, name=f"repl-{self.pid}-ctl"),
            threading.Thread(target=self._read_log, args=(self.popen.stdout,), daemon=True, name=f"repl-{self.pid}-out"),
            threading.Thread(target=self._read_log, args=(self.popen.stderr,), daemon=True, name=f"repl-{self.pid}-err"),
        ]
        for thread in self._readers:
            thread.start()
        threading.Thread(target=self._wait, daemon=True, name=f"repl-{self.pid}-wait").start()

    # -- I/O --------------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> bool:
        """Write one message; False when the child is no longer reading."""
        data = json.dumps(message).encode() + b"\n"
        with self._write_lock:
            try:
                self._to_child.write(data)
                self._to_child.flush()
                return True
            except (BrokenPipeError, ValueError, OSError):
                return False

    def _read_messages(self) -> None:
        for line in self._from_child:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            try:
                self._on_message(message)
            except Exception as exc:  # noqa: BLE001 - keep reading; the server log shows it
                print(f"fabric-livy serve: bad message from session process: {exc!r}", file=sys.stderr)

    def _read_log(self, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        for raw in stream:
            self._on_log(raw.decode("utf-8", "replace").rstrip("\r\n"))

    def _wait(self) -> None:
        code = self.popen.wait()
        for thread in self._readers:
            thread.join(timeout=5)
        self._on_exit(code)

    # -- lifecycle --------------------------------------------------------------------------
    def alive(self) -> bool:
        return self.popen.poll() is None

    def descendants(self) -> list[psutil.Process]:
        return descendants(self.pid)

    def stop(self, grace: float = 10.0) -> None:
        """Ask the child to stop Spark and exit; then SIGTERM, then SIGKILL its whole group."""
        tree = self.descendants()
        if self.alive():
            self.send({"type": "shutdown"})
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        end_process_group(self.popen, tree, wait=3.0)
        try:
            self._to_child.close()
        except OSError:
            pass

    def kill(self) -> None:
        """SIGKILL the child's whole process group at once (used to simulate a crash, and as a last resort)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
