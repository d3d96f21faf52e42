"""Session registry and state machines, shared by both URL shapes.

Session states follow Livy's ``SessionState.scala``: not_started → starting → idle ⇄ busy →
shutting_down → dead / killed / error. Statement states: waiting → running → available / error,
cancelling → cancelled. Statements queue on the server (so a statement posted while the session
starts waits, and a waiting one cancels at once); the child runs one at a time.

A deleted session leaves the registry at once (Livy answers 404 afterwards); a session whose
process died, failed to start or idled past its TTL stays listed as ``dead``/``error`` with its log.
A session (``records.py``) has REPLs (namespaces with their own statement numbers): ``default``,
plus one per high-concurrency session sharing it (``high_concurrency.py``). Each session process gets a private
directory for Spark's warehouse (``children.WorkDirs``), removed when the server stops. With
``--warm N`` a session takes a pre-started process when its settings allow (``warm_pool.py``).
"""

from __future__ import annotations

import collections
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from fabric_livy_magics.server.bodies import SQL_ROWS_CONF
from fabric_livy_magics.server.children import WorkDirs, spark_conf
from fabric_livy_magics.server.config import ServerConfig
from fabric_livy_magics.server.errors import ApiError
from fabric_livy_magics.server.ids import parse_int_id, shown_ref
from fabric_livy_magics.server.lifecycle import launch, now_ms
from fabric_livy_magics.server.process import SessionProcess
from fabric_livy_magics.server.records import Repl, Session, Statement
from fabric_livy_magics.server.warm_pool import WarmPool

__all__ = ["Registry", "Repl", "ServerConfig", "Session", "Statement"]

MAX_STATEMENTS = 1000
DEFAULT_REPL = "default"
_SIZE_CONF = (
    ("driverMemory", "spark.driver.memory"),
    ("driverCores", "spark.driver.cores"),
    ("executorMemory", "spark.executor.memory"),
    ("executorCores", "spark.executor.cores"),
    ("numExecutors", "spark.executor.instances"),
)


class Registry:
    """All sessions; every method is short and runs under one lock."""

    def __init__(self, config: ServerConfig, log: Callable[[str], None] | None = None) -> None:
        self.config = config
        self._log = log or (lambda line: None)
        #: The one lock of the registry; the high-concurrency layer takes it too.
        self.lock = self._lock = threading.RLock()
        self._by_id: dict[int, Session] = {}
        self._by_guid: dict[str, Session] = {}
        self.workdirs = WorkDirs()
        self._next_id = 0
        self._stopping: list[threading.Thread] = []
        self._closed = threading.Event()
        self._reaper = threading.Thread(target=self._reap, daemon=True, name="ttl-reaper")
        self._reaper.start()
        #: Called first by ``shutdown`` (the app registers its batch registry's shutdown here).
        self.on_shutdown: list[Callable[[], None]] = []
        #: Called under the lock when a session leaves the registry.
        self.on_delete: list[Callable[[Session], None]] = []
        self.pool = WarmPool(config, self.workdirs, self._any_working) if config.warm > 0 else None

    # -- sessions ---------------------------------------------------------------------------
    def create_session(self, spec: dict[str, Any], hc_tag: str | None = None) -> Session:
        with self._lock:
            if self._closed.is_set():
                raise ApiError(503, "The server is shutting down.", "ServiceUnavailable")
            live = sum(1 for s in self._by_id.values() if not s.ended)
            if self.config.max_sessions and live >= self.config.max_sessions:
                raise ApiError(
                    429,
                    f"Too many sessions: {live} are running (limit {self.config.max_sessions}). "
                    "Delete a session or start the server with a higher --max-sessions.",
                    "TooManyRequestsForCapacity",
                )
            session = Session(
                id=self._next_id,
                guid=str(uuid.uuid4()),
                name=spec.get("name"),
                kind=spec.get("kind"),
                owner=None,
                proxy_user=spec.get("proxyUser"),
                conf=dict(spec.get("conf") or {}),
                tags=dict(spec.get("tags") or {}),
                request=spec,
                ttl=spec.get("ttl_seconds", self.config.session_ttl),
                hc_tag=hc_tag,
            )
            session.repls[DEFAULT_REPL] = Repl(DEFAULT_REPL)
            self._next_id += 1
            self._by_id[session.id] = session
            self._by_guid[session.guid] = session
            session.set_state("not_started")
        self._spawn(session, spec)
        return session

    def _spawn(self, session: Session, spec: dict[str, Any]) -> None:
        sized = {conf_key: key for key, conf_key in _SIZE_CONF if spec.get(key) is not None}
        server_conf = {**self.config.spark_conf, **{conf_key: str(spec[key]) for conf_key, key in sized.items()}}
        max_rows = int(session.conf.get(SQL_ROWS_CONF, self.config.sql_max_rows))
        on = (lambda m: self._on_message(session, m), lambda line: self._append_log(session, line),
              lambda code: self._on_exit(session, code))
        if self.pool is not None and self.pool.start(session, self._lock, spec, server_conf, sized, max_rows, on):
            return
        conf = spark_conf(self.workdirs.new(f"session-{session.id}"), server_conf, session.conf)
        master = session.conf.get("spark.master", self.config.master)
        sid = session.id

        def start() -> SessionProcess:
            return SessionProcess(session_id=sid, master=master, app_name=session.name or f"livy-session-{sid}",
                                  conf=conf, max_rows=max_rows, on_message=on[0], on_log=on[1], on_exit=on[2])

        def attach(process: SessionProcess) -> None:
            session.process = process

        launch(session, self._lock, start, attach, what="the session process", failed_state="error")

    def _any_working(self) -> bool:
        with self._lock:
            return any(s.state in ("not_started", "starting", "busy") for s in self._by_id.values())

    def get(self, ref: str | int) -> Session:
        with self._lock:
            session = self._lookup(ref)
        if session is None:
            raise ApiError(404, f"Session '{shown_ref(ref)}' not found.", "SessionNotFound")
        return session

    def _lookup(self, ref: str | int) -> Session | None:
        number = parse_int_id(ref)
        if number is not None:
            return self._by_id.get(number)
        return self._by_guid.get(str(ref).strip().lower())

    def list(self) -> list[Session]:
        with self._lock:
            return list(self._by_id.values())

    def delete(self, session: Session) -> None:
        """Remove the session now and stop its process in the background."""
        with self._lock:
            if self._by_id.pop(session.id, None) is None:
                raise ApiError(404, f"Session '{session.id}' not found.", "SessionNotFound")
            self._by_guid.pop(session.guid, None)
            for hook in self.on_delete:
                hook(session)
            was_ended = session.ended
            if not was_ended:
                session.set_state("shutting_down")
            self._fail_pending(session, "cancelled", "The session was deleted.")
        self._stop_async(session, final_state=None if was_ended else "killed")

    def registered(self, session: Session) -> bool:
        with self._lock:
            return self._by_id.get(session.id) is session

    def touch(self, session: Session) -> None:
        """Fabric's reset-timeout: restart the idle clock."""
        with self._lock:
            if session.ended:
                message = f"Session {session.guid} is {session.state}; it cannot be kept alive. Create a new session."
                raise ApiError(409, message, "InvalidSessionState")
            session.last_activity = time.monotonic()

    def _stop_async(self, session: Session, final_state: str | None) -> None:
        def stop() -> None:
            if session.process is not None:
                session.process.stop(self.config.stop_grace)
            with self._lock:
                if final_state and session.state == "shutting_down":
                    session.set_state(final_state)

        thread = threading.Thread(target=stop, daemon=True, name=f"stop-session-{session.id}")
        with self._lock:
            self._stopping = [t for t in self._stopping if t.is_alive()]
            self._stopping.append(thread)
        thread.start()

    def shutdown(self) -> None:
        """Stop every session process and wait for all of them (server exit)."""
        self._closed.set()
        pooled = self.pool.close(self.config.stop_grace) if self.pool is not None else []
        for hook in self.on_shutdown:
            hook()
        with self._lock:
            sessions = list(self._by_id.values())
            for session in sessions:
                if not session.ended:
                    session.set_state("shutting_down")
                    self._fail_pending(session, "cancelled", "The server is shutting down.")
        for session in sessions:
            self._stop_async(session, final_state="killed")
        with self._lock:
            threads = list(self._stopping)
        for thread in [*pooled, *threads]:
            thread.join(timeout=self.config.stop_grace + 10)
        for session in sessions:  # last resort: nothing may outlive the server
            if session.process is not None and session.process.alive():
                session.process.kill()
        if self.pool is not None:
            self.pool.kill_leftovers()
        self.workdirs.remove()

    # -- statements -------------------------------------------------------------------------
    def repl(self, session: Session, key: str = DEFAULT_REPL) -> Repl:
        with self._lock:
            repl = session.repls.get(key)
        if repl is None:
            raise ApiError(404, f"REPL '{shown_ref(key)}' not found in session {session.guid}.", "ReplNotFound")
        return repl

    def submit(self, session: Session, repl: Repl, code: str, kind: str, source_id: str | None) -> Statement:
        with self._lock:
            if session.ended or session.state == "shutting_down":
                reason = f": {session.error_message}" if session.error_message else ""
                raise ApiError(
                    409,
                    f"Session {session.id} is {session.state}{reason}; it cannot run statements. Create a new session.",
                    "InvalidSessionState",
                )
            if source_id:
                # Fabric's sourceId names one submission: a client that resends after losing the
                # answer gets the statement it already created, which does not run again.
                for existing in repl.statements.values():
                    if existing.source_id == source_id:
                        return existing
            statement = Statement(id=repl.next_id, code=code, kind=kind, source_id=source_id)
            repl.next_id += 1
            repl.statements[statement.id] = statement
            while len(repl.statements) > MAX_STATEMENTS:
                del repl.statements[next(iter(repl.statements))]
            session.queue.append((repl, statement))
            session.last_activity = time.monotonic()
            self._pump(session)
            return statement

    def statement(self, repl: Repl, statement_id: int) -> Statement:
        with self._lock:
            statement = repl.statements.get(statement_id)
        if statement is None:
            raise ApiError(404, f"Statement {statement_id} not found.", "StatementNotFound")
        return statement

    def cancel(self, session: Session, repl: Repl, statement: Statement) -> None:
        with self._lock:
            if statement.state == "waiting":
                session.queue = collections.deque(e for e in session.queue if e[1] is not statement)
                statement.state = "cancelled"
                statement.completed = now_ms()
                statement.progress = 1.0
                self._pump(session)
            elif statement.state == "running" and session.running is not None and session.running[1] is statement:
                statement.state = "cancelling"
                if session.process is not None:
                    session.process.send({"type": "cancel", "sid": statement.id, "repl": repl.key})

    def complete(self, session: Session, repl: Repl, code: str, cursor: int) -> Future[list[str]]:
        """Ask the child for completions; the future gets the candidates (none if the process ends)."""
        future: Future[list[str]] = Future()
        with self._lock:
            if session.state not in ("idle", "busy") or session.process is None:
                future.set_result([])
                return future
            rid = uuid.uuid4().hex
            session.completions[rid] = future
        session.process.send({"type": "complete", "rid": rid, "repl": repl.key, "code": code, "cursor": cursor})
        return future

    def add_repl(self, session: Session, key: str) -> Repl:
        with self._lock:
            repl = session.repls[key] = Repl(key)
            return repl

    def drop_repl(self, session: Session, key: str, *, in_process: bool) -> None:
        """Forget REPL ``key`` and cancel its waiting statements; ``in_process`` drops its namespace too."""
        with self._lock:
            repl = session.repls.pop(key, None)
            if repl is not None:
                for entry in [e for e in session.queue if e[0] is repl]:
                    session.queue.remove(entry)
                    entry[1].state = "cancelled"
            if in_process and session.process is not None:
                session.process.send({"type": "drop_repl", "repl": key})

    # -- child events (reader threads) ------------------------------------------------------
    def _on_message(self, session: Session, message: dict[str, Any]) -> None:
        kind = message.get("type")
        with self._lock:
            if kind == "ready":
                session.app_id = message.get("appId")
                session.spark_ui_url = message.get("sparkUiUrl")
                session.last_activity = time.monotonic()
                if session.state == "starting":
                    session.set_state("idle")
                    self._pump(session)
            elif kind == "fatal":
                session.error_message = str(message.get("message"))
                session.set_state("error")
                self._fail_pending(session, "error", f"The session failed to start: {session.error_message}")
            elif kind == "completion":
                future = session.completions.pop(str(message.get("rid")), None)
                if future is not None and not future.done():
                    future.set_result(list(message.get("candidates") or []))
            elif session.running is not None and message.get("sid") == session.running[1].id:
                statement = session.running[1]
                if kind == "started":
                    statement.started = int(message["started"])
                elif kind == "progress":
                    statement.progress = max(statement.progress, float(message["progress"]))
                elif kind == "result":
                    self._finish(session, statement, message)

    def _finish(self, session: Session, statement: Statement, message: dict[str, Any]) -> None:
        output = dict(message["output"])
        output["execution_count"] = statement.id
        statement.output = {"status": output.pop("status"), "execution_count": statement.id, **output}
        statement.started = int(message.get("started") or statement.started)
        statement.completed = int(message["completed"])
        statement.progress = 1.0
        statement.state = "cancelled" if statement.state == "cancelling" else "available"
        session.running = None
        session.last_activity = time.monotonic()
        if session.state == "busy":
            session.set_state("idle")
        self._pump(session)

    def _on_exit(self, session: Session, code: int) -> None:
        with self._lock:
            self._append_log(session, f"session process exited with code {code}")
            for future in session.completions.values():
                if not future.done():
                    future.set_result([])
            session.completions.clear()
            if session.state == "shutting_down" or session.ended:
                if session.state == "shutting_down" and session.error_message is None:
                    session.set_state("killed")
                return
            if session.state in ("not_started", "starting"):
                session.error_message = session.error_message or f"the session process exited with code {code} while starting"
                session.set_state("error")
            else:
                session.error_message = f"the session process exited unexpectedly with code {code}"
                session.set_state("dead")
            self._fail_pending(session, "error", f"The session process died ({session.error_message}).")

    def _append_log(self, session: Session, line: str) -> None:
        with self._lock:
            session.append_log(line)

    # -- internals (lock held) --------------------------------------------------------------
    def _pump(self, session: Session) -> None:
        """Send the next queued statement when the session is ready and not running one."""
        if session.running is not None or session.state not in ("idle", "busy") or session.process is None:
            return
        while session.queue:
            repl, statement = session.queue.popleft()
            if statement.state != "waiting":
                continue
            statement.state = "running"
            session.running = (repl, statement)
            session.set_state("busy")
            sent = session.process.send(
                {"type": "execute", "sid": statement.id, "repl": repl.key, "code": statement.code, "kind": statement.kind}
            )
            if not sent:
                session.running = None
                self._fail_statement(statement, "error", "The session process is not reachable.")
                continue
            return
        if session.state == "busy":
            session.set_state("idle")

    def _fail_pending(self, session: Session, state: str, reason: str) -> None:
        pending = [s for _, s in session.queue]
        if session.running is not None:
            pending.append(session.running[1])
        session.queue.clear()
        session.running = None
        for statement in pending:
            final = "cancelled" if statement.state == "cancelling" else state
            self._fail_statement(statement, final, reason)

    @staticmethod
    def _fail_statement(statement: Statement, state: str, reason: str) -> None:
        statement.state = state
        statement.progress = 1.0
        statement.completed = now_ms()
        ename = "StatementCancelled" if state == "cancelled" else "SessionError"
        statement.output = {
            "status": "error",
            "execution_count": statement.id,
            "ename": ename,
            "evalue": reason,
            "traceback": [],
        }

    def _reap(self) -> None:
        """Stop sessions idle past their TTL (checked once a second)."""
        while not self._closed.wait(1.0):
            expired: list[Session] = []
            with self._lock:
                now = time.monotonic()
                for session in self._by_id.values():
                    if session.ttl and session.state == "idle" and now - session.last_activity > session.ttl:
                        self._append_log(session, f"session stopped: idle for more than {session.ttl:g} s (ttl)")
                        session.error_message = f"stopped after being idle for more than {session.ttl:g} s"
                        session.set_state("shutting_down")
                        expired.append(session)
            for session in expired:
                self._stop_async(session, final_state="dead")
