"""The session process: one SparkSession, statements from the server as JSON lines over pipes.

Started by the server as ``python -m fabric_livy_magics.server.repl --in-fd N --out-fd M ...``.
Its own stdout/stderr (Spark's log4j included) become the session log; the control pipes carry
only protocol messages. Statements run on the main thread so that a cancel can interrupt Python
code with SIGINT after the statement's Spark job group has been cancelled.

Started with ``--pool-slot K`` instead of ``--session-id N``, it is a pre-started process of the
server's pool (``warm_pool.py``): Spark starts, ``warm`` is sent, and it waits for ``claim``, which
makes it session N's (its runtime SQL settings applied with ``spark.conf.set``) and sends ``ready``.

Messages in: claim {sessionId, maxRows, sqlConf}, execute {sid, repl, code, kind}, cancel {sid, repl},
complete {rid, repl, code, cursor}, drop_repl {repl}, shutdown. Messages out: warm {staticKeys},
ready {appId, sparkUiUrl}, fatal {message}, started {sid, started}, progress {sid, progress},
result {sid, output, failed, started, completed}, completion {rid, candidates}.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, BinaryIO

from fabric_livy_magics.server.lifecycle import now_ms

__all__ = ["main"]

PROGRESS_INTERVAL = 0.2
WARM_UP_GROUP = "fabric-livy-warm-up"
#: Session conf ``false`` skips the warm-up job of a session started cold (benchmarks' baseline).
WARM_UP_CONF = "spark.fabricLivy.warmup"
CANCEL_GRACE = 0.5


def _die_with_parent() -> None:
    """Linux: get SIGTERM when the server dies, so a killed server never leaves us behind."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _name_process(name: str) -> None:
    """Linux: the process name ``ps -o comm`` and ``find_session_process`` see (15 bytes at most);
    a pooled process learns its session only when claimed, long after its command line was set."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME (for the calling thread: call on main)
    except (OSError, AttributeError):
        pass


def process_name(session_id: object) -> str:
    """The name a session's process takes once it is that session's."""
    return f"livy-sess-{session_id}"


def _static_sql_keys(spark: Any) -> list[str]:
    """The SQL settings Spark refuses to change at runtime (``spark.sql.warehouse.dir``, ...)."""
    try:
        conf = spark._jsparkSession.sessionState().conf()
        defined = conf.getAllDefinedConfs().iterator()
        keys = []
        while defined.hasNext():
            key = defined.next()._1()
            if conf.isStaticConfigKey(key):
                keys.append(str(key))
        return keys
    except Exception:  # noqa: BLE001 - the server falls back to the best-known static keys
        return []


def _inside_py4j(frame: Any) -> bool:
    """True while the main thread waits on the JVM: interrupting there would break the gateway
    connection, so the cancelled job group is left to end the call (the interrupt is retried)."""
    while frame is not None:
        if "py4j" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def _job_group(repl: str, sid: int) -> str:
    return f"livy-{repl}-{sid}"


class Channel:
    """JSON lines to and from the server."""

    def __init__(self, in_fd: int, out_fd: int) -> None:
        self._in: BinaryIO = os.fdopen(in_fd, "rb")
        self._out: BinaryIO = os.fdopen(out_fd, "wb")
        os.set_inheritable(in_fd, False)
        os.set_inheritable(out_fd, False)
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, default=str).encode() + b"\n"
        with self._lock:
            try:
                self._out.write(data)
                self._out.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass

    def messages(self) -> Any:
        for line in self._in:
            try:
                yield json.loads(line)
            except ValueError:
                continue


class Session:
    """Holds the SparkSession and runs statements one at a time."""

    def __init__(self, channel: Channel, max_rows: int) -> None:
        self.channel = channel
        self.max_rows = max_rows
        self.work: queue.Queue[dict[str, Any]] = queue.Queue()
        self.spark: Any = None
        self.interpreter: Any = None
        self._current: tuple[int, str] | None = None  # (sid, job group)
        self._armed = False
        self._interrupt_sid: int | None = None
        # The server marks a statement running when it sends it, so a cancel can arrive before
        # ``execute`` takes it up: remembered (by job group) here, it stops the statement as it starts.
        self._cancel_early: set[str] = set()
        self._lock = threading.RLock()  # the SIGINT handler takes it on the main thread too

    # -- control thread ---------------------------------------------------------------------
    def read_control(self) -> None:
        for message in self.channel.messages():
            kind = message.get("type")
            if kind == "cancel":
                self.cancel(int(message["sid"]), str(message.get("repl", "default")))
            elif kind == "complete":
                self.channel.send({"type": "completion", "rid": message["rid"], "candidates": self.complete(message)})
            else:
                if kind == "shutdown":
                    self._cancel_current()
                self.work.put(message)
        # The server went away: stop Spark and leave; a watchdog makes sure we do.
        self._cancel_current()
        self.work.put({"type": "shutdown"})
        threading.Timer(15.0, lambda: os._exit(3)).start()

    def complete(self, message: dict[str, Any]) -> list[str]:
        import rlcompleter

        if self.interpreter is None:
            return []
        code = str(message.get("code", ""))
        cursor = int(message.get("cursor", len(code)))
        match = re.search(r"[\w.]*$", code[:cursor])
        text = match.group(0) if match else ""
        completer = rlcompleter.Completer(self.interpreter.namespace(str(message.get("repl", "default"))))
        found: list[str] = []
        for state in range(500):
            try:
                candidate = completer.complete(text, state)
            except Exception:  # noqa: BLE001 - completion is best effort
                break
            if candidate is None:
                break
            candidate = candidate.rstrip("(")
            if candidate not in found:
                found.append(candidate)
        return found

    def cancel(self, sid: int, repl: str | None = None) -> None:
        """Cancel the statement's Spark jobs, then interrupt its Python code if it keeps running."""
        with self._lock:
            current = self._current
            if current is None or current[0] != sid:
                if repl is not None:
                    self._cancel_early.add(_job_group(repl, sid))
                return
        threading.Timer(CANCEL_GRACE, self._interrupt, args=(sid,)).start()
        # Off the control thread: a JVM call must never hold up reading messages.
        threading.Thread(target=self._cancel_jobs, args=(current[1],), daemon=True).start()

    def _cancel_jobs(self, group: str) -> None:
        try:
            self.spark.sparkContext.cancelJobGroup(group)
        except Exception:  # noqa: BLE001 - the interrupt still stops Python code
            pass

    def _cancel_current(self) -> None:
        with self._lock:
            current = self._current
        if current is not None:
            self.cancel(current[0])

    def _interrupt(self, sid: int) -> None:
        """Interrupt statement ``sid`` while it runs: again every second, since a job started after
        the last cancel, or Python code that was inside a JVM call, is still running."""
        with self._lock:
            if self._current is None or self._current[0] != sid:
                return
            group, armed = self._current[1], self._armed
            self._interrupt_sid = sid
        threading.Thread(target=self._cancel_jobs, args=(group,), daemon=True).start()
        if armed:
            os.kill(os.getpid(), signal.SIGINT)
        threading.Timer(1.0, self._interrupt, args=(sid,)).start()

    def _on_sigint(self, signum: int, frame: Any) -> None:
        with self._lock:
            hit = self._armed and self._current is not None and self._interrupt_sid == self._current[0]
        if hit and not _inside_py4j(frame):
            raise KeyboardInterrupt("statement cancelled")

    def _guard(self, entering: bool) -> None:
        with self._lock:
            self._armed = entering

    # -- main thread ------------------------------------------------------------------------
    def start_spark(self, master: str, app_name: str, conf: dict[str, str]) -> None:
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.master(master).appName(app_name)
        for key, value in conf.items():
            builder = builder.config(key, value)
        self.spark = builder.getOrCreate()
        import fabric_livy_magics.server.execute  # noqa: F401 - loaded now, not on the first statement

    def warm_up(self) -> None:
        """Tiny jobs, one through the Arrow path of ``-o``, while nobody waits: a fresh Spark's first
        action takes seconds (class loading, code generation), the next ones a fraction. A pooled
        process runs them before it is taken, a session started cold on a thread once it is ready.
        They show in the Spark UI as job group ``WARM_UP_GROUP``; no statement's progress counts them."""
        sc = self.spark.sparkContext
        try:
            sc.setJobGroup(WARM_UP_GROUP, "warm-up of a pre-started session process", False)
            self.spark.range(10).selectExpr("id % 2 AS k").groupBy("k").count().collect()
            self.spark.range(3).selectExpr("id", "CAST(id AS STRING) AS s").toArrow()  # the `-o` path
        except Exception:  # noqa: BLE001 - only a speed-up
            pass
        finally:
            sc.setLocalProperty("spark.jobGroup.id", None)
            sc.setLocalProperty("spark.job.description", None)

    def begin(self, session_id: object, max_rows: int) -> None:
        """Become session ``session_id``'s: its namespace, its row cap, its name; statements may come."""
        from fabric_livy_magics.server.execute import Interpreter

        self.max_rows = max_rows
        self.interpreter = Interpreter(self.spark, self.max_rows)
        self.interpreter.namespace("default")
        signal.signal(signal.SIGINT, self._on_sigint)
        _name_process(process_name(session_id))

    def claim(self, message: dict[str, Any]) -> bool:
        """A pooled process becomes a session's; False (after ``fatal``) when a setting is refused."""
        for key, value in dict(message.get("sqlConf") or {}).items():
            try:
                self.spark.conf.set(key, value)
            except Exception as exc:  # noqa: BLE001 - reported as the session's failed start
                lines = str(exc).strip().splitlines()
                self.channel.send({"type": "fatal", "message": f"{key}: {lines[0] if lines else type(exc).__name__}"})
                return False
        self.begin(message.get("sessionId"), int(message.get("maxRows") or self.max_rows))
        self.send_ready()
        return True

    def send_ready(self) -> None:
        sc = self.spark.sparkContext
        self.channel.send({"type": "ready", "appId": sc.applicationId, "sparkUiUrl": sc.uiWebUrl})

    def serve(self) -> None:
        while True:
            message = self.work.get()
            kind = message.get("type")
            if kind == "shutdown":
                return
            if kind == "claim":
                if not self.claim(message):
                    return
            elif kind == "drop_repl" and self.interpreter is not None:
                self.interpreter.drop(str(message["repl"]))
            elif kind == "execute":
                self.execute(message)

    def execute(self, message: dict[str, Any]) -> None:
        sid = int(message["sid"])
        repl = str(message.get("repl", "default"))
        group = _job_group(repl, sid)
        sc = self.spark.sparkContext
        with self._lock:
            self._current = (sid, group)
            self._interrupt_sid = None
            cancelled_early = group in self._cancel_early
            self._cancel_early.discard(group)
        started = now_ms()
        self.channel.send({"type": "started", "sid": sid, "started": started})
        if cancelled_early:
            with self._lock:
                self._current = None
            output = {"status": "error", "ename": "KeyboardInterrupt", "evalue": "statement cancelled", "traceback": []}
            self.channel.send(
                {"type": "result", "sid": sid, "output": output, "failed": True, "started": started, "completed": now_ms()}
            )
            return
        stop = threading.Event()
        try:
            sc.setJobGroup(group, f"statement {sid}", True)
            watcher = threading.Thread(target=self._watch_progress, args=(sid, group, stop), daemon=True)
            watcher.start()
            result = self.interpreter.run(str(message["code"]), str(message.get("kind", "pyspark")), repl, self._guard)
            output, failed = result.output, result.failed
        except BaseException as exc:  # noqa: BLE001 - a late interrupt must not kill the session
            output = {"status": "error", "ename": type(exc).__name__, "evalue": str(exc), "traceback": []}
            failed = True
        finally:
            stop.set()
            completed = now_ms()
            with self._lock:
                self._current = None
                self._armed = False
        try:
            sc.setLocalProperty("spark.jobGroup.id", None)
        except Exception:  # noqa: BLE001
            pass
        self.channel.send(
            {"type": "result", "sid": sid, "output": output, "failed": failed, "started": started, "completed": completed}
        )

    def _watch_progress(self, sid: int, group: str, stop: threading.Event) -> None:
        """Report finished tasks / all tasks of the statement's Spark jobs while it runs."""
        last = -1.0
        while not stop.wait(PROGRESS_INTERVAL):
            try:
                tracker = self.spark.sparkContext.statusTracker()
                total = done = 0
                for job_id in tracker.getJobIdsForGroup(group):
                    job = tracker.getJobInfo(job_id)
                    for stage_id in job.stageIds if job else []:
                        stage = tracker.getStageInfo(stage_id)
                        if stage is not None:
                            total += stage.numTasks
                            done += stage.numCompletedTasks
            except Exception:  # noqa: BLE001 - progress is advisory
                continue
            progress = round(done / total, 4) if total else 0.0
            if progress != last and not stop.is_set():
                last = progress
                self.channel.send({"type": "progress", "sid": sid, "progress": min(progress, 0.99)})

    def stop_spark(self) -> None:
        if self.spark is not None:
            try:
                self.spark.stop()
            except Exception:  # noqa: BLE001 - we are leaving anyway
                pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fabric_livy_magics.server.repl")
    parser.add_argument("--in-fd", type=int, required=True)
    parser.add_argument("--out-fd", type=int, required=True)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--app-name", default="fabric-livy-session")
    parser.add_argument("--max-rows", type=int, default=1000)
    parser.add_argument("--session-id", default="", help="Shown in `ps` so a person can tell sessions apart.")
    parser.add_argument("--pool-slot", type=int, help="Start as a pooled process and wait to be claimed.")
    args = parser.parse_args(argv)
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conf: dict[str, str] = json.loads(os.environ.pop("FABRIC_LIVY_SESSION_CONF", "{}"))
    channel = Channel(args.in_fd, args.out_fd)
    session = Session(channel, args.max_rows)
    threading.Thread(target=session.read_control, name="control", daemon=True).start()
    try:
        session.start_spark(args.master, args.app_name, conf)
    except BaseException as exc:  # noqa: BLE001 - reported to the server as a failed start
        message = str(exc).strip().splitlines()
        channel.send({"type": "fatal", "message": f"{type(exc).__name__}: {message[0] if message else ''}"})
        print(f"session failed to start: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 3
    if args.pool_slot is not None:
        session.warm_up()
        channel.send({"type": "warm", "staticKeys": _static_sql_keys(session.spark)})
    else:
        session.begin(args.session_id, args.max_rows)
        session.send_ready()
        if conf.get(WARM_UP_CONF, "true").strip().lower() != "false":  # the same, next to the first cells
            threading.Thread(target=session.warm_up, name="warm-up", daemon=True).start()
    try:
        session.serve()
    finally:
        session.stop_spark()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
