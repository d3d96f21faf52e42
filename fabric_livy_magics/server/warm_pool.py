"""Pre-started session processes (``fabric-livy serve --warm N``): a local starter pool.

Fabric starts a session in seconds from its starter pool unless the session's settings need a
cluster of their own (``UserSparkConfigMismatch``). Locally, starting Spark takes seconds of both
cores; so the server keeps ``N`` session processes with Spark already up, and a session create
takes one of them when its settings can be given to a running Spark: runtime SQL settings
(``spark.sql.*`` that Spark does not call static) are applied with ``spark.conf.set`` when the
process is claimed. Anything else that differs from the server's defaults (driver memory or cores,
``spark.master``, jars or packages, a static SQL setting such as ``spark.sql.warehouse.dir``) needs
a fresh JVM: that session starts cold, and says why in its log and, as Fabric does, in its
``errorInfo`` (code ``UserSparkConfigMismatch``, source ``User``).

A pooled process is used once: it has run no code when it is claimed and it ends with its session,
so nothing of one user reaches the next. Its Spark application keeps the pool's name
(``livy-pool-K``): Spark cannot rename a running application.

The pool refills in the background, one process at a time, a moment after a take (so the create
answers first), and only while no session is starting or running a statement: starting Spark takes
both cores of a small machine for seconds, which would slow down the very session just taken from
the pool, and its first statement, or a start someone waits for. A pooled process that fails before Spark is up stops the refilling: the
sessions then start cold and show the failure themselves.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabric_livy_magics.server.children import WorkDirs, spark_conf
from fabric_livy_magics.server.config import ServerConfig
from fabric_livy_magics.server.process import SessionProcess
from fabric_livy_magics.server.records import Session

__all__ = ["MISMATCH_CODE", "READY_LINE", "Handlers", "Pooled", "WarmPool"]

#: Fabric's error code for settings that move a session off the starter pool.
MISMATCH_CODE = "UserSparkConfigMismatch"
#: Static SQL settings known before a pooled process reports Spark's own list.
KNOWN_STATIC = frozenset({"spark.sql.warehouse.dir", "spark.sql.catalogImplementation", "spark.sql.extensions"})
#: Seconds between a take and the refill it causes: the create's answer goes out first.
REFILL_DELAY = 1.0
_LOG_KEPT = 2000
#: Seconds an unclaimed process gets to stop Spark before its group is signalled.
POOLED_STOP_GRACE = 1.0
#: Printed to the server's log each time a pooled process has Spark up (benchmarks and tests wait for it).
READY_LINE = "fabric-livy serve: a pre-started session process is ready"
#: Session request fields a running Spark cannot take.
_FRESH_FIELDS = ("jars", "pyFiles", "files", "archives")

#: A session's callbacks for the process's messages, log lines and exit code.
Handlers = tuple[Callable[[dict[str, Any]], None], Callable[[str], None], Callable[[int], None]]


@dataclass(eq=False)
class Pooled:
    """One pre-started session process; its output is kept until a session takes it."""

    slot: int
    workdir: Path
    process: SessionProcess | None = None
    warm: bool = False
    handlers: Handlers | None = None
    exit_code: int | None = None
    log: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=_LOG_KEPT))


class WarmPool:
    """Up to ``config.warm`` pooled processes; ``working()`` tells whether a session is starting
    or running a statement (then the pool waits to refill)."""

    def __init__(self, config: ServerConfig, workdirs: WorkDirs, working: Callable[[], bool]) -> None:
        self.size = config.warm
        self._config = config
        self._workdirs = workdirs
        self._working = working
        self._lock = threading.Condition()
        self._idle: list[Pooled] = []
        self._next_slot = 0
        self._static = set(KNOWN_STATIC)
        self._taken_at = 0.0
        self._closed = False
        self._closing: list[SessionProcess] = []
        #: Why the pool stopped refilling, once a pooled process failed to start.
        self.broken: str | None = None
        self._worker = threading.Thread(target=self._fill, daemon=True, name="warm-pool")
        self._worker.start()

    # -- choosing ---------------------------------------------------------------------------
    def fit(self, server_conf: Mapping[str, str], request_conf: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
        """For a session started with ``server_conf`` (the server's, with the request's sizes) and
        the request's conf: (settings that need a fresh JVM, runtime SQL settings to apply)."""
        here = Path("/pool")  # any directory: both sides get the same, so only real differences show
        pooled = {**spark_conf(here, self._config.spark_conf, {}), "spark.master": self._config.master}
        wanted = {**spark_conf(here, server_conf, request_conf)}
        wanted.setdefault("spark.master", self._config.master)
        differ = {key: value for key, value in wanted.items() if pooled.get(key) != value}
        with self._lock:
            static = set(self._static)
        fresh = sorted(key for key in differ if not key.startswith("spark.sql.") or key in static)
        return fresh, {key: value for key, value in differ.items() if key not in fresh}

    def start(self, session: Session, lock: threading.RLock, spec: Mapping[str, Any], server_conf: Mapping[str, str],
              sized: Mapping[str, str], max_rows: int, handlers: Handlers) -> bool:
        """Give ``session`` (changed under ``lock``, the registry's) a pooled process if its settings
        allow: True when it got one. Else its log, and its notices for a setting, say why it starts
        fresh. ``sized``: conf keys set by the request's size fields (``spark.driver.memory`` ->
        ``driverMemory``), named as sent."""
        fresh, runtime = self.fit(server_conf, session.conf)
        because = [sized.get(key, key) for key in fresh] + [key for key in _FRESH_FIELDS if spec.get(key)]
        if because:
            message = (f"Starting a fresh Spark process instead of a pre-started one: {', '.join(because)} cannot "
                       f"be given to a running Spark ({MISMATCH_CODE}).")
            with lock:
                session.append_log(message)
                session.notices.append({"message": message, "errorCode": MISMATCH_CODE, "source": "User"})
            return False
        pooled = self.take()
        if pooled is None or pooled.process is None:
            with lock:
                session.append_log("No pre-started Spark process is free; starting a fresh one.")
            return False
        with lock:
            session.process = pooled.process
            session.append_log(f"Session process taken from the pool of pre-started Spark processes (warm start, "
                               f"pool slot {pooled.slot}).")
            if session.state == "not_started":
                session.set_state("starting")
        self.hand_over(pooled, handlers)
        pooled.process.send({"type": "claim", "sessionId": session.id, "maxRows": max_rows, "sqlConf": runtime})
        return True

    def take(self) -> Pooled | None:
        """A pooled process (a warm one first) out of the pool, or None when none is left."""
        with self._lock:
            if not self._idle:
                return None
            pooled = next((p for p in self._idle if p.warm), self._idle[0])
            self._idle.remove(pooled)
            self._taken_at = time.monotonic()
            self._lock.notify_all()
            return pooled

    def hand_over(self, pooled: Pooled, handlers: Handlers) -> None:
        """From now on the session gets the process's messages, log (what it logged so far first)
        and exit."""
        with self._lock:  # held while replaying: a line read meanwhile waits, so the order holds
            pooled.handlers = handlers
            for line in pooled.log:
                handlers[1](line)
            pooled.log.clear()
            code = pooled.exit_code
        if code is not None:
            handlers[2](code)

    def ready(self) -> int:
        """Pooled processes with Spark up."""
        with self._lock:
            return sum(1 for p in self._idle if p.warm)

    # -- the processes' callbacks (reader threads) ------------------------------------------
    def _on_message(self, pooled: Pooled, message: dict[str, Any]) -> None:
        with self._lock:
            if message.get("type") == "warm":
                pooled.warm = True
                self._static.update(str(key) for key in message.get("staticKeys") or ())
                self._lock.notify_all()
                print(f"{READY_LINE} (pool slot {pooled.slot})", file=sys.stderr, flush=True)
                return
            handlers = pooled.handlers
            if handlers is None:
                pooled.log.append(f"pooled process: {message.get('type')}: {message.get('message', '')}")
                return
        handlers[0](message)

    def _on_log(self, pooled: Pooled, line: str) -> None:
        with self._lock:
            handlers = pooled.handlers
            if handlers is None:
                pooled.log.append(line)
                return
        handlers[1](line)

    def _on_exit(self, pooled: Pooled, code: int) -> None:
        with self._lock:
            pooled.exit_code = code
            handlers = pooled.handlers
            if handlers is None:
                if pooled in self._idle:
                    self._idle.remove(pooled)
                if not pooled.warm and not self._closed and self.broken is None:
                    tail = " | ".join(list(pooled.log)[-3:])
                    self.broken = f"a pre-started session process exited with code {code} before Spark was up: {tail}"
                    print(f"fabric-livy serve: {self.broken}; sessions start fresh from now on.", file=sys.stderr)
                self._lock.notify_all()
                return
        handlers[2](code)

    # -- refilling --------------------------------------------------------------------------
    def _wanted(self) -> bool:
        """Lock held: one more process is due (and none is starting: one at a time)."""
        return (not self._closed and self.broken is None and len(self._idle) < self.size
                and all(p.warm for p in self._idle) and time.monotonic() - self._taken_at >= REFILL_DELAY)

    def _fill(self) -> None:
        while True:
            with self._lock:
                while not self._closed and not self._wanted():
                    self._lock.wait(0.25)
                if self._closed:
                    return
            if self._working():  # someone waits for a session or a statement: leave the cores to it
                time.sleep(0.25)
                continue
            with self._lock:
                if self._wanted():
                    self._spawn()

    def _spawn(self) -> None:
        """Lock held: start one pooled process."""
        slot = self._next_slot
        self._next_slot += 1
        pooled = Pooled(slot=slot, workdir=self._workdirs.new(f"pool-{slot}"))
        try:
            pooled.process = SessionProcess(
                session_id=None,
                pool_slot=slot,
                master=self._config.master,
                app_name=f"livy-pool-{slot}",
                conf=spark_conf(pooled.workdir, self._config.spark_conf, {}),
                max_rows=self._config.sql_max_rows,
                on_message=lambda m: self._on_message(pooled, m),
                on_log=lambda line: self._on_log(pooled, line),
                on_exit=lambda code: self._on_exit(pooled, code),
            )
        except OSError as exc:
            self.broken = f"could not start a pre-started session process: {exc}"
            print(f"fabric-livy serve: {self.broken}; sessions start fresh from now on.", file=sys.stderr)
            return
        self._idle.append(pooled)

    # -- shutdown ---------------------------------------------------------------------------
    def close(self, grace: float) -> list[threading.Thread]:
        """Stop refilling and stop every pooled process; the stopping threads (started) are returned."""
        with self._lock:
            self._closed = True
            pooled, self._idle = self._idle, []
            self._lock.notify_all()
        self._closing = [p.process for p in pooled if p.process is not None]
        grace = min(grace, POOLED_STOP_GRACE)  # no one's work to let finish: Spark may be cut short
        threads = [threading.Thread(target=process.stop, args=(grace,), daemon=True, name=f"stop-pooled-{process.pid}")
                   for process in self._closing]
        for thread in threads:
            thread.start()
        return threads

    def kill_leftovers(self) -> None:
        """Last resort after ``close``: nothing may outlive the server."""
        for process in self._closing:
            if process.alive():
                process.kill()
