"""Batch jobs on the local server: one ``spark-submit`` process (from the installed PySpark) each.

States follow Livy's batch lifecycle: not_started → starting (``spark-submit`` launched, JVM
booting) → running (the user's code runs: the JVM started its Python driver, or Spark logged
"Running Spark version") → success (exit 0) / dead (non-zero exit) / killed (cancelled).

Each job runs in its own process group, so cancelling it signals the wrapper script, the JVM and
the Python driver together (SIGTERM, then SIGKILL; see ``children.end_process_group``). A job runs
in its file's directory, so relative paths in the script work; its SQL warehouse goes to a private
directory of the server (``children.WorkDirs``). A cancelled batch stays listed as ``killed`` with its log, in both
URL shapes (Apache Livy forgets it instead; Fabric keeps it).
"""

from __future__ import annotations

import builtins  # the registry's own list() shadows the builtin inside the class
import collections
import os
import re
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import psutil

from fabric_livy_magics.server.children import (
    WorkDirs,
    child_env,
    descendants,
    end_process_group,
    spark_conf,
)
from fabric_livy_magics.server.config import ServerConfig
from fabric_livy_magics.server.errors import ApiError
from fabric_livy_magics.server.ids import parse_int_id, shown_ref
from fabric_livy_magics.server.lifecycle import Tracked, iso_now, launch

__all__ = ["Batch", "BatchRegistry", "spark_submit_path"]

MAX_BATCHES_KEPT = 1000
STOP_GRACE = 5.0
_RUNNING_MARKERS = ("SparkContext: Running Spark version", "Running Spark version")
_APP_ID = re.compile(r"\b(local-\d{10,}|application_\d+_\d+|app-\d{14}-\d{4})\b")
_SIZE_OPTIONS = (
    ("driverMemory", "--driver-memory"),
    ("driverCores", "--driver-cores"),
    ("executorMemory", "--executor-memory"),
    ("executorCores", "--executor-cores"),
    ("numExecutors", "--num-executors"),
)
_LIST_OPTIONS = (("jars", "--jars"), ("pyFiles", "--py-files"), ("files", "--files"), ("archives", "--archives"))


def spark_submit_path() -> str:
    """``bin/spark-submit`` of the installed PySpark (found without importing pyspark)."""
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise ApiError(503, "PySpark is not installed in the server's Python: pip install pyspark.", "ServiceUnavailable")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "spark-submit"
    if not path.is_file():
        raise ApiError(503, f"{path} is missing: reinstall pyspark.", "ServiceUnavailable")
    return str(path)


def _local_file(value: str, what: str) -> str:
    """A local path or ``file://`` URL as an absolute path that exists; 400 otherwise."""
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme == "file":
        path = Path(unquote(parts.path))
    elif scheme and len(scheme) > 1:
        raise ApiError(
            400,
            f"This local server runs only local files; {what} '{shown_ref(value, 200)}' uses {shown_ref(scheme, 20)}://. "
            "Give a path on the server's disk or a file:// URL.",
            "InvalidRequest",
        )
    else:
        path = Path(value).expanduser()
    if not path.is_absolute():
        raise ApiError(400, f"{what} '{shown_ref(value, 200)}' is a relative path: give an absolute path or a file:// URL.", "InvalidRequest")
    if not path.is_file():
        raise ApiError(400, f"{what} '{shown_ref(path, 200)}' does not exist on the server. Check the path.", "FileNotFound")
    return str(path)


@dataclass
class Batch(Tracked):
    id: int
    guid: str
    name: str | None
    file: str
    request: dict[str, Any]
    tags: dict[str, str]
    app_id: str | None = None
    exit_code: int | None = None
    popen: subprocess.Popen[bytes] | None = None
    submitted_at: str = field(default_factory=iso_now)
    cancel_requested: bool = False
    cancellation_reason: str | None = None


class BatchRegistry:
    """All batches of the server; every method is short and runs under one lock."""

    def __init__(self, config: ServerConfig, workdirs: WorkDirs) -> None:
        self.config = config
        self.workdirs = workdirs
        self._lock = threading.RLock()
        self._by_id: dict[int, Batch] = {}
        self._by_guid: dict[str, Batch] = {}
        self._next_id = 0
        self._closed = threading.Event()

    # -- lookups ----------------------------------------------------------------------------
    def get(self, ref: str) -> Batch:
        number = parse_int_id(ref)
        with self._lock:
            batch = self._by_id.get(number) if number is not None else self._by_guid.get(ref.strip().lower())
        if batch is None:
            raise ApiError(404, f"Batch '{shown_ref(ref)}' not found.", "BatchNotFound")
        return batch

    def list(self) -> list[Batch]:
        with self._lock:
            return list(self._by_id.values())

    # -- create -----------------------------------------------------------------------------
    def create(self, spec: dict[str, Any]) -> Batch:
        """Check the request, register the batch and launch ``spark-submit`` (not waiting for it)."""
        file = _local_file(spec["file"], "Batch file")
        for key, _ in _LIST_OPTIONS:
            spec[key] = [_local_file(v, f"'{key}' entry") for v in spec.get(key) or []]
        with self._lock:
            if self._closed.is_set():
                raise ApiError(503, "The server is shutting down.", "ServiceUnavailable")
            batch = Batch(
                id=self._next_id, guid=str(uuid.uuid4()), name=spec.get("name"), file=file,
                request=spec, tags=dict(spec.get("tags") or {}),
            )
            self._next_id += 1
            self._by_id[batch.id] = batch
            self._by_guid[batch.guid] = batch
            batch.set_state("not_started")
            self._forget_oldest()
        self._launch(batch, self._argv(file, spec, self.workdirs.new(f"batch-{batch.id}")))
        return batch

    def _argv(self, file: str, spec: dict[str, Any], workdir: Path) -> builtins.list[str]:
        argv = [spark_submit_path(), "--master", self.config.master]
        argv += ["--name", spec.get("name") or f"livy-batch-{Path(file).name}"]
        conf = spark_conf(workdir, self.config.spark_conf, spec.get("conf") or {}, ui=False)
        conf.pop("spark.master", None)  # the server's --master decides where jobs run
        for key, value in conf.items():
            argv += ["--conf", f"{key}={value}"]
        for key, option in _SIZE_OPTIONS:
            if spec.get(key) is not None:
                argv += [option, str(spec[key])]
        for key, option in _LIST_OPTIONS:
            if spec.get(key):
                argv += [option, ",".join(spec[key])]
        if spec.get("className"):
            argv += ["--class", spec["className"]]
        return [*argv, file, *(spec.get("args") or [])]

    def _launch(self, batch: Batch, argv: builtins.list[str]) -> None:
        env = child_env(PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
        env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        self._append_log(batch, "$ spark-submit " + " ".join(argv[1:]))

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(  # noqa: S603 - PySpark's own spark-submit, argv list
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True, env=env, cwd=str(Path(batch.file).parent),
            )

        def attach(popen: subprocess.Popen[bytes]) -> None:
            batch.popen = popen

        popen = launch(batch, self._lock, start, attach, what="spark-submit", failed_state="dead")
        if popen is None:
            return
        readers = [threading.Thread(target=self._read, args=(batch, stream), daemon=True, name=f"batch-{batch.id}-log")
                   for stream in (popen.stdout, popen.stderr)]
        for thread in readers:
            thread.start()
        threading.Thread(target=self._watch, args=(batch, popen, readers), daemon=True, name=f"batch-{batch.id}").start()

    # -- child events -----------------------------------------------------------------------
    def _read(self, batch: Batch, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._lock:
                self._append_log(batch, line)
                if batch.app_id is None:
                    match = _APP_ID.search(line)
                    if match:
                        batch.app_id = match.group(1)
                if batch.state == "starting" and any(m in line for m in _RUNNING_MARKERS):
                    batch.set_state("running")

    def _watch(self, batch: Batch, popen: subprocess.Popen[bytes], readers: builtins.list[threading.Thread]) -> None:
        """Mark ``running`` once the driver's Python runs; record the exit as the final state."""
        while popen.poll() is None:
            if batch.state == "starting" and _driver_started(popen.pid):
                with self._lock:
                    if batch.state == "starting":
                        batch.set_state("running")
            try:
                popen.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
        for thread in readers:
            thread.join(timeout=5)
        code = popen.returncode
        with self._lock:
            batch.exit_code = code
            self._append_log(batch, f"spark-submit exited with code {code}")
            if batch.ended:
                return
            if batch.cancel_requested:
                batch.set_state("killed")
            elif code == 0:
                batch.set_state("success")
            else:
                batch.error_message = _failure_reason(batch.log, code)
                batch.set_state("dead")

    # -- cancel / shutdown ------------------------------------------------------------------
    def cancel(self, batch: Batch) -> None:
        """Kill the job's whole process group and wait until it is gone (blocking: run in a thread)."""
        with self._lock:
            if batch.ended:
                return
            batch.cancel_requested = True
            batch.cancellation_reason = "Cancelled by a DELETE request."
            popen = batch.popen
            if popen is None:
                batch.set_state("killed")
                return
        _kill_group(popen)
        with self._lock:
            if not batch.ended:
                self._append_log(batch, "batch cancelled")
                batch.set_state("killed")

    def shutdown(self) -> None:
        """Kill every running batch (server exit); nothing outlives the server."""
        self._closed.set()
        with self._lock:
            running = [b for b in self._by_id.values() if not b.ended]
        threads = [threading.Thread(target=self.cancel, args=(b,), daemon=True) for b in running]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=STOP_GRACE + 10)

    # -- internals (lock held) --------------------------------------------------------------
    def _append_log(self, batch: Batch, line: str) -> None:
        with self._lock:
            batch.append_log(line)

    def _forget_oldest(self) -> None:
        ended = [b for b in self._by_id.values() if b.ended]
        while len(self._by_id) > MAX_BATCHES_KEPT and ended:
            oldest = ended.pop(0)
            self._by_id.pop(oldest.id, None)
            self._by_guid.pop(oldest.guid, None)


def _driver_started(pid: int) -> bool:
    """True once a Python process runs under the JVM (PythonRunner started the user's script)."""
    java = False
    for child in descendants(pid):
        try:
            name = child.name().lower()
        except psutil.Error:
            continue
        if "java" in name:
            java = True
        elif java and "python" in name:
            return True
    return False


def _failure_reason(log: collections.deque[str], code: int) -> str:
    """The last exception line of the log (what the script raised), else the exit code."""
    for line in reversed(log):
        text = line.strip()
        head = text.split(":", 1)[0]
        if head and " " not in head and head.endswith(("Error", "Exception")):
            return f"{text} (exit code {code})"
    return f"spark-submit exited with code {code}"


def _kill_group(popen: subprocess.Popen[bytes]) -> None:
    """End the job: its wrapper script, JVM and Python driver, even those that left the group."""
    try:
        tree = [psutil.Process(popen.pid), *descendants(popen.pid)]
    except psutil.Error:
        tree = []
    end_process_group(popen, tree, wait=STOP_GRACE)
