"""``LivyClient``: one typed method per Livy / Fabric Livy REST call. Pure HTTP, no IPython.

Usable from scripts::

    client = LivyClient(LivyEndpoint("http://127.0.0.1:8998"))
    session = client.wait_for_session(client.create_session(kind="pyspark").id, timeout=300)
    print(client.run_statement(session, "1 + 1").output.text)

The client is composed of one part per job: ``http`` (``http_core.HttpCore``: sending, error
mapping, JSON, which POSTs may be repeated), a ``StatementSubmission`` (``create_statement``), the
``HighConcurrencyCalls`` (Fabric's shared sessions), each given what it needs. Request bodies come
from ``bodies.py`` (one ``SparkResources``); every wait for a session is ``starting.py``'s, every
wait for a statement, "did the session die?" and Ctrl-C rule ``running.py``'s, the same code the
notebook's ``lifecycle.ManagedSession`` uses. Retries (``transport.py`` has the GET/DELETE policy):

* ``POST sessions`` / ``POST highConcurrencySessions`` start Spark clusters, so they are repeated
  only when the server clearly refused: connection refused before sending, or 429/430 (honouring
  ``Retry-After``). After any other failure the client raises and says to list sessions first.
* ``POST .../statements`` runs user code, so it is never repeated blindly: refused requests are
  resent, ambiguous ones (read timeout, 502/503/504) are resolved by listing the statements and
  adopting ours if it arrived. The full rule is in ``statement_submit.py``'s docstring.
* Cancel and reset-timeout are safe to repeat and are retried like GETs.
* A 401 makes the client ask the token provider for a fresh token once and resend.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterator, Sequence, Union, Unpack

from fabric_livy_magics.livy.endpoints import Endpoint, FabricEndpoint, endpoint_from_url
from fabric_livy_magics.errors import (
    ConfigurationError,
    LivyError,
    MalformedResponse,
    SessionNotFound,
    StatementNotFound,
)
from fabric_livy_magics.livy.bodies import (
    ENVIRONMENT_CONF_KEY,
    SLOW_START_CONF_KEYS,
    ResourceOptions,
    SparkResources,
    session_body,
)
from fabric_livy_magics.livy.high_concurrency import HighConcurrencyCalls
from fabric_livy_magics.livy.http_core import HttpCore
from fabric_livy_magics.livy.monitoring import MonitoringCalls
from fabric_livy_magics.livy.models import (
    HighConcurrencySession,
    Session,
    SessionId,
    SessionLog,
    SessionPage,
    SessionState,
    Statement,
    StatementTarget,
)
from fabric_livy_magics.livy.paging import iter_pages, log_query, log_window
from fabric_livy_magics.livy.polling import SESSION_POLL, STATEMENT_POLL, PollPolicy
from fabric_livy_magics.livy import running
from fabric_livy_magics.livy.starting import start_failure, wait_until_ready
from fabric_livy_magics.livy.statement_submit import StatementSubmission
from fabric_livy_magics.livy.transport import TokenSource, check_token_url

__all__ = ["LivyClient", "SessionLike", "SparkResources", "ENVIRONMENT_CONF_KEY", "SLOW_START_CONF_KEYS"]

log = logging.getLogger(__name__)

#: The longest one statement GET waits for a change where the server offers it.
LONG_POLL_SECONDS = 1.0

#: Anything the statement methods accept as "where to run".
SessionLike = Union[Session, HighConcurrencySession, StatementTarget, int, str]


class LivyClient:
    """Typed client for one endpoint. One keep-alive connection pool; thread-safe for requests."""

    def __init__(
        self,
        endpoint: Endpoint | str,
        token_provider: TokenSource | None = None,
        *,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        requested_by: str = "fabric-livy-magics",
        statement_poll: PollPolicy = STATEMENT_POLL,
        session_poll: PollPolicy = SESSION_POLL,
        max_retry_after: float = 60.0,
        throttle_retries: int = 5,
        submit_attempts: int = 3,
        backoff_factor: float = 0.25,
        pool_size: int = 10,
    ) -> None:
        self.endpoint = endpoint_from_url(endpoint) if isinstance(endpoint, str) else endpoint
        if token_provider is not None:
            check_token_url(self.endpoint.root)  # fail now, not at the first request
        #: Sending, error mapping and the POST-retry rules (``http_core.py``).
        self.http = HttpCore(token_provider, timeout=timeout, requested_by=requested_by,
                             max_retry_after=max_retry_after, throttle_retries=throttle_retries,
                             backoff_factor=backoff_factor, pool_size=pool_size)
        self.statement_poll = statement_poll
        self.session_poll = session_poll
        self.submission = StatementSubmission(self.http, self.endpoint, submit_attempts=submit_attempts,
                                              list_statements=self.list_statements)
        #: Fabric's shared sessions (``high_concurrency.py``); the client's methods of the same
        #: names delegate to it.
        self.high_concurrency = HighConcurrencyCalls(self.http, self.endpoint, session_poll)
        #: Fabric's Spark monitoring APIs: runs, Spark jobs/stages/executors, logs, advice
        #: (``monitoring.py``).
        self.monitoring = MonitoringCalls(self.http, self.endpoint)

    def __repr__(self) -> str:
        return f"LivyClient(endpoint={self.endpoint!r}, auth={self.http._auth!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def __enter__(self) -> "LivyClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sessions ----------------------------------------------------------------------------

    def create_session(self, resources: SparkResources | None = None, *, kind: str | None = None,
                       **options: Unpack[ResourceOptions]) -> Session:
        """Ask for a new interactive session (Livy 201 / Fabric 202). It starts asynchronously:
        follow with :meth:`wait_for_session`. ``kind`` is sent to Livy only (Fabric statements
        carry their kind). The Spark settings are ``resources`` and/or the keyword ``options``
        of :class:`SparkResources` (``name``, ``conf``, ``environment_id`` for Fabric's
        ``spark.fabric.environmentDetails``, driver/executor sizes, ``tags``, raw ``extra``
        fields such as Livy's ``proxyUser``, ``jars``, ``ttl``)."""
        body = session_body(self.endpoint, SparkResources.of(resources, **options), kind=kind)
        url = self.endpoint.sessions_url()
        data = self.http.post_refusable(url, body, "create a session")
        return Session.from_json(data, url)

    def get_session(self, session_id: SessionId) -> Session:
        url = self.endpoint.session_url(session_id)
        data = self.http.call("GET", url, what=f"get session {session_id}", not_found=SessionNotFound)
        return Session.from_json(data, url)

    def list_sessions(self, *, start: int = 0, size: int | None = None) -> SessionPage:
        """One page of sessions (Livy ``from``/``size``, Fabric ``$skip``/``$top``)."""
        params = self.endpoint.page_params(start, size)
        url = self.endpoint.sessions_url()
        data = self.http.call("GET", url, what="list sessions", params=params)
        return SessionPage.from_json(data, url, start=start)

    def iter_sessions(self, *, page_size: int = 100) -> Iterator[Session]:
        """Every session, page by page."""

        def page(start: int, size: int) -> tuple[Sequence[Session], int | None]:
            listed = self.list_sessions(start=start, size=size)
            return listed.sessions, listed.total

        return iter_pages(page, page_size, what="session list")

    def delete_session(self, session_id: SessionId, *, missing_ok: bool = False) -> None:
        """Stop a session. ``missing_ok``: a session that is already gone is not an error."""
        try:
            self.http.call("DELETE", self.endpoint.session_url(session_id),
                       what=f"delete session {session_id}", not_found=SessionNotFound)
        except SessionNotFound:
            if not missing_ok:
                raise
        self.submission.forget_session(session_id)

    def get_session_state(self, session_id: SessionId) -> SessionState:
        if self.endpoint.supports_log_route:
            url = self.endpoint.session_state_url(session_id)
            data = self.http.call("GET", url, what=f"get the state of session {session_id}",
                              not_found=SessionNotFound)
            if not isinstance(data, dict) or "state" not in data:
                raise MalformedResponse(f"{url} answered without a 'state' field.")
            return SessionState(data["state"])
        return self.get_session(session_id).state

    def get_session_log(self, session_id: SessionId, *, start: int | None = None,
                        size: int = 100) -> SessionLog:
        """Log lines: Livy's ``/log`` route; on Fabric the session object's ``log`` field.
        ``start=None`` means the last ``size`` lines."""
        if not self.endpoint.supports_log_route:
            return log_window(self.get_session(session_id).log, start, size)
        url = self.endpoint.session_log_url(session_id)
        data = self.http.call("GET", url, what=f"get the log of session {session_id}",
                          params=log_query(start, size), not_found=SessionNotFound)
        return SessionLog.from_json(data, url)

    def reset_session_timeout(self, session_id: SessionId) -> None:
        """Keep an idle session alive (Fabric kills idle sessions after ~20 min).

        Fabric: ``POST reset-timeout``. Apache Livy has no such route; a GET of the session is
        the closest thing and at least proves it is still there."""
        if isinstance(self.endpoint, FabricEndpoint):
            self.http.call("POST", self.endpoint.reset_timeout_url(session_id),
                       what=f"keep session {session_id} alive", not_found=SessionNotFound,
                       repeatable_post=True)
        else:
            self.get_session(session_id)

    def wait_for_session(
        self,
        session_id: SessionId,
        *,
        timeout: float | None = 600.0,
        on_state_change: Callable[[Session], None] | None = None,
        accept_busy: bool = False,
        not_found_grace: float = 15.0,
    ) -> Session:
        """Poll until the session is idle (or busy, with ``accept_busy``).

        ``on_state_change(session)`` runs whenever the state or Fabric's acquisition phase
        changes (queued, libraryPackaging, acquiringSession, starting, ...): show
        ``session.phase``. A 404 in the first ``not_found_grace`` seconds is taken as Fabric not
        having registered the session yet. Raises SessionDead / SessionFailed with the log tail,
        or LivyTimeout."""

        return wait_until_ready(
            lambda: self.get_session(session_id), session_id,
            intervals=self.session_poll.intervals(), timeout=timeout, accept_busy=accept_busy,
            not_found_grace=not_found_grace, on_change=on_state_change, log_tail=self.session_log_tail)

    def session_log_tail(self, session: Session | HighConcurrencySession) -> list[str]:
        """The end of a failed session's log: its ``log`` field, else Livy's ``/log`` route.
        (A high-concurrency REPL has no log of its own.)"""
        if not isinstance(session, Session):
            return []
        lines = list(session.log)
        if not lines and self.endpoint.supports_log_route:
            try:
                lines = list(self.get_session_log(session.id, size=50).lines)
            except LivyError:
                lines = []
        return lines[-50:]

    def session_failure(self, session: Session, *, hint: str = "Start a new session.") -> LivyError:
        """The error for a session that cannot run code (SessionDead when it ended for good)."""
        return start_failure(session, hint=hint, log=self.session_log_tail(session))

    # --- high-concurrency sessions (Fabric): ``high_concurrency.py`` --------------------------

    def acquire_high_concurrency_session(self, tag: str | None = None, resources: SparkResources | None = None,
                                         **options: Unpack[ResourceOptions]) -> HighConcurrencySession:
        """Ask for a REPL in a shared Spark session (not idempotent): see ``HighConcurrencyCalls``."""
        return self.high_concurrency.acquire_high_concurrency_session(tag, resources, **options)

    def get_high_concurrency_session(self, hc_id: str) -> HighConcurrencySession:
        return self.high_concurrency.get_high_concurrency_session(hc_id)

    def delete_high_concurrency_session(self, hc_id: str, *, missing_ok: bool = False) -> None:
        """Release the REPL; the last one released ends the shared Spark session."""
        self.high_concurrency.delete_high_concurrency_session(hc_id, missing_ok=missing_ok)

    def wait_for_high_concurrency_session(
        self, hc_id: str, *, timeout: float | None = 600.0,
        on_state_change: Callable[[HighConcurrencySession], None] | None = None,
        not_found_grace: float = 15.0,
    ) -> HighConcurrencySession:
        """Poll until Idle with a REPL id (``starting.wait_until_ready``, as for sessions)."""
        return self.high_concurrency.wait_for_high_concurrency_session(
            hc_id, timeout=timeout, on_state_change=on_state_change, not_found_grace=not_found_grace)

    # --- statements --------------------------------------------------------------------------

    def _target(self, session: SessionLike) -> StatementTarget:
        if isinstance(session, StatementTarget):
            return session
        if isinstance(session, HighConcurrencySession):
            return session.target
        if isinstance(session, Session):
            return StatementTarget(session.id)
        return StatementTarget(self.endpoint.parse_session_id(session))

    def get_statement(self, session: SessionLike, statement_id: int, *, offset: int | None = None,
                      size: int | None = None, wait: float | None = None) -> Statement:
        """One statement. ``offset``/``size`` (Fabric ``from``/``size``) page a large output.
        ``wait`` seconds: where the server offers it (``statement_wait``), it answers as soon as the
        statement changes, or after ``wait``; elsewhere ignored."""
        target = self._target(session)
        params: dict[str, Any] = {}
        if offset is not None:
            params["from"] = offset
        if size is not None:
            params["size"] = size
        if wait is not None and self.statement_wait is not None:
            params["wait"] = round(min(wait, self.statement_wait) * 1000)
        url = self.endpoint.statement_url(target, statement_id)
        data = self.http.call("GET", url, what=f"get statement {statement_id} of session {target}",
                          params=params or None, not_found=StatementNotFound)
        return Statement.from_json(data, url)

    @property
    def statement_wait(self) -> float | None:
        """Seconds one statement GET may wait for a change, where the server offers that; else None.
        At most 1 s, so a progress line still moves each second, and well within the read timeout."""
        offered = self.http.statement_wait_ms
        if not offered:
            return None
        timeout = self.http.timeout
        read_timeout = timeout[1] if isinstance(timeout, tuple) else float(timeout)
        return min(offered / 1000, LONG_POLL_SECONDS, read_timeout / 3)

    def get_statement_output_page(self, session: SessionLike, statement_id: int, offset: int,
                                  size: int) -> Statement:
        """The statement with its output cut to bytes ``offset`` .. ``offset+size`` (Fabric)."""
        return self.get_statement(session, statement_id, offset=offset, size=size)

    def get_full_output_text(self, session: SessionLike, statement_id: int, *,
                             page_size: int = 1 << 20, max_bytes: int = 1 << 30) -> str:
        """All of a large ``text/plain`` output, fetched ``page_size`` bytes at a time."""
        chunks: list[bytes] = []
        offset = 0
        while offset < max_bytes:
            page = self.get_statement_output_page(session, statement_id, offset, page_size)
            text = page.output.text if page.output is not None else None
            piece = (text or "").encode("utf-8")
            chunks.append(piece)
            offset += len(piece)
            if len(piece) < page_size:
                break
        return b"".join(chunks).decode("utf-8", errors="replace")

    def list_statements(self, session: SessionLike) -> list[Statement]:
        target = self._target(session)
        url = self.endpoint.statements_url(target)
        data = self.http.call("GET", url, what=f"list the statements of session {target}",
                          not_found=SessionNotFound)
        if isinstance(data, dict):
            items = data.get("statements", data.get("items"))
        else:
            items = data
        if not isinstance(items, list):
            raise MalformedResponse(f"{url} answered a statement list without 'statements'.")
        statements = [Statement.from_json(item, url) for item in items]
        self.submission.remember(target, statements)
        return statements

    def complete(self, session: SessionLike, code: str, *, kind: str = "pyspark",
                 cursor: int | None = None) -> list[str]:
        """Livy's ``/completion``: candidates for ``code`` at ``cursor`` (default: its end).

        Only plain Livy sessions have the route (``endpoint.supports_completion_route``)."""
        if not self.endpoint.supports_completion_route:
            raise ConfigurationError("This endpoint has no completion route (Fabric's API lacks one).")
        target = self._target(session)
        url = self.endpoint.completion_url(target.session_id)
        data = self.http.call("POST", url,
                          body={"code": code, "kind": kind,
                                "cursor": len(code) if cursor is None else cursor},
                          what=f"complete code in session {target}", not_found=SessionNotFound,
                          repeatable_post=True)
        candidates = data.get("candidates") if isinstance(data, dict) else None
        if not isinstance(candidates, list):
            raise MalformedResponse(f"{url} answered without a 'candidates' list.")
        return [str(item) for item in candidates]

    def cancel_statement(self, session: SessionLike, statement_id: int) -> str:
        """Ask the server to cancel; returns its message (e.g. ``canceled``). Safe to repeat."""
        target = self._target(session)
        data = self.http.call("POST", self.endpoint.cancel_statement_url(target, statement_id),
                          what=f"cancel statement {statement_id} of session {target}",
                          not_found=StatementNotFound, repeatable_post=True)
        return str(data.get("msg", "")) if isinstance(data, dict) else str(data or "")

    def create_statement(self, session: SessionLike, code: str, kind: str | None = None, *,
                         source_id: str | None = None) -> Statement:
        """Submit code; returns at once (usually ``waiting``). Never runs the code twice: see
        ``statement_submit.py`` for how an ambiguous failure is resolved."""
        return self.submission.create_statement(self._target(session), code, kind, source_id=source_id)

    def wait_for_statement(
        self,
        session: SessionLike,
        statement_id: int,
        *,
        timeout: float | None = None,
        on_progress: Callable[[Statement], None] | None = None,
        poll: PollPolicy | None = None,
    ) -> Statement:
        """Poll until the statement is available, failed or cancelled, and return it.

        The first poll goes out at once, then on ``poll``'s schedule (``polling.STATEMENT_POLL``),
        or, where the server offers it, each GET waits there for the statement to change.
        ``on_progress(statement)`` runs when the state or progress changes. Raises LivyTimeout
        after ``timeout`` seconds (the statement keeps running: cancel it if you want it gone)."""
        return running.wait_for_statement(
            self, self._target(session), statement_id,
            intervals=(poll or self.statement_poll).intervals(), timeout=timeout, on_change=on_progress)

    def run_statement(
        self,
        session: SessionLike,
        code: str,
        kind: str | None = None,
        *,
        timeout: float | None = None,
        on_progress: Callable[[Statement], None] | None = None,
        raise_on_error: bool = True,
    ) -> Statement:
        """Submit, wait, and (by default) raise StatementFailed/StatementCancelled on failure.

        Ctrl-C while waiting cancels the statement on the server, then raises
        StatementCancelled."""
        target = self._target(session)
        statement = self.create_statement(target, code, kind)
        try:
            if not statement.is_finished:
                statement = self.wait_for_statement(target, statement.id, timeout=timeout,
                                                    on_progress=on_progress)
        except KeyboardInterrupt:
            raise running.cancel_after_interrupt(self, target, statement.id, wait=0.0) from None
        if raise_on_error:
            statement.raise_for_status()
        return statement
