"""What every child of the server (session process or ``spark-submit`` job) gets, and how it ends.

Each child gets the same environment, Spark conf defaults and a private directory under one
per-server temporary directory: Spark's SQL warehouse (``spark-warehouse/``) and Derby's
``metastore_db/``/``derby.log`` go there instead of wherever the server was started, and the
whole tree goes when the server stops. A user's own ``spark.sql.warehouse.dir`` (from
``--spark-conf`` or the request's conf) wins. Children run in their own process group, so stopping
one signals the group; a psutil snapshot of descendants catches anything that left it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import psutil

from fabric_livy_magics.server.config import TOKEN_ENV

__all__ = ["WorkDirs", "child_env", "descendants", "end_process_group", "running", "spark_conf"]

WAREHOUSE_CONF = "spark.sql.warehouse.dir"
DEFAULT_JAVA_OPTIONS_CONF = "spark.driver.defaultJavaOptions"
#: The Spark UI is on: its REST API backs the monitoring routes and ``%livy info``'s link. Port 0
#: lets each session's UI take a free port (4040 and the next 16 would run out).
_SPARK_DEFAULTS = {"spark.ui.enabled": "true", "spark.ui.port": "0", "spark.ui.showConsoleProgress": "false",
                   "spark.sql.shuffle.partitions": "4"}


class WorkDirs:
    """One temporary directory per server holding a private directory per session and batch."""

    def __init__(self) -> None:
        self._root: Path | None = None
        self._lock = threading.Lock()

    @property
    def root(self) -> Path | None:
        """The server's directory, once a child needed one."""
        return self._root

    def new(self, name: str) -> Path:
        """A fresh empty directory ``name`` for one child."""
        with self._lock:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="fabric-livy-serve-"))
            path = self._root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def remove(self) -> None:
        """Delete everything (server exit, after every child stopped)."""
        with self._lock:
            root, self._root = self._root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


def spark_conf(workdir: Path, server_conf: Mapping[str, str], request_conf: Mapping[str, str], *,
               ui: bool = True) -> dict[str, str]:
    """Defaults < the child's private warehouse and Derby home < ``--spark-conf`` < the request's ``spark.*``.

    ``ui=False`` (batches: nothing here reads their Spark UI) starts no UI unless asked."""
    conf = dict(_SPARK_DEFAULTS)
    if not ui:
        conf["spark.ui.enabled"] = "false"
    conf[WAREHOUSE_CONF] = str(workdir / "spark-warehouse")
    conf[DEFAULT_JAVA_OPTIONS_CONF] = f"-Dderby.system.home={workdir}"
    conf.update(server_conf)
    conf.update({k: v for k, v in request_conf.items() if k.startswith("spark.")})
    return conf


def child_env(**extra: str) -> dict[str, str]:
    """The server's environment without its token, with our Python first for PySpark's workers."""
    env = dict(os.environ)
    env.pop(TOKEN_ENV, None)
    env.setdefault("PYSPARK_PYTHON", sys.executable)  # executors on a cluster need our pyspark
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def end_process_group(popen: subprocess.Popen[bytes], tree: list[psutil.Process], wait: float) -> None:
    """SIGTERM the child's group and ``tree`` (JVM shutdown hooks stop Spark), then SIGKILL what is left.

    Each signal gets ``wait`` seconds; returns as soon as the child and ``tree`` are gone.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if popen.poll() is not None and not any(running(p) for p in tree):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, sig)
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)
        deadline = time.monotonic() + wait
        psutil.wait_procs([p for p in tree if running(p)], timeout=wait)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=max(0.1, deadline - time.monotonic()))
