"""``LivyClient``: one typed method per Livy / Fabric Livy REST call. Pure HTTP, no IPython.

Usable from scripts::

    client = LivyClient(LivyEndpoint("http://127.0.0.1:8998"))
    session = client.wait_for_session(client.create_session(kind="pyspark").id, timeout=300)
    print(client.run_statement(session, "1 + 1").output.text)

Retries (see ``transport.py`` for the GET/DELETE policy):

* ``POST sessions`` / ``POST highConcurrencySessions`` start Spark clusters, so they are repeated
  only when the server clearly refused: connection refused before sending, or 429/430 (honouring
  ``Retry-After``). After any other failure the client raises and says to list sessions first.
* ``POST .../statements`` runs user code, so it is never repeated blindly. The rule:

  1. Refused (connection not opened, 429, 430): nothing ran; wait (``Retry-After``) and resend.
  2. Ambiguous (read timeout, connection dropped after sending, 502/503/504): list the target's
     statements and look for ours. On Fabric every statement carries a fresh ``sourceId`` that the
     server echoes, so ours is the one with that ``sourceId``. On Apache Livy (no ``sourceId``)
     ours is a statement with exactly our code and an id above the highest id this client knew
     before sending (read once per session before its first statement) that this client has not
     already claimed. Found: adopt it, do not resend. Not found after three listings over about a
     second: the server never created it, so resend (at most ``submit_attempts`` times in all).
  3. Anything else (400, 404, 500 "session is starting", ...): raise, never resend.

  Limit: a request held in the network longer than the read timeout plus that second, then
  delivered, could still run after the resend. Raise ``timeout`` if the network is that slow.
* Cancel and reset-timeout are safe to repeat and are retried like GETs.
* A 401 makes the client ask the token provider for a fresh token once and resend.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from typing import Any, Callable, Iterator, Mapping, Sequence, Union

import requests

from fabric_livy_magics.endpoints import Endpoint, FabricEndpoint, endpoint_from_url
from fabric_livy_magics.errors import (
    ConfigurationError,
    LivyConnectionError,
    LivyError,
    LivyHTTPError,
    LivyTimeout,
    MalformedResponse,
    SessionDead,
    SessionFailed,
    SessionNotFound,
    StatementCancelled,
    StatementNotFound,
)
from fabric_livy_magics.models import (
    SESSION_ENDED_STATES,
    HighConcurrencySession,
    HighConcurrencyState,
    Session,
    SessionId,
    SessionLog,
    SessionPage,
    SessionState,
    Statement,
    StatementTarget,
)
from fabric_livy_magics.polling import SESSION_POLL, STATEMENT_POLL, Deadline, PollPolicy
from fabric_livy_magics.transport import (
    THROTTLE_STATUSES,
    BearerAuth,
    TokenSource,
    build_http_session,
    error_from_response,
    nothing_was_sent,
    retry_after_seconds,
)

__all__ = ["LivyClient", "SessionLike", "ENVIRONMENT_CONF_KEY", "SLOW_START_CONF_KEYS"]

log = logging.getLogger(__name__)

#: Anything the statement methods accept as "where to run".
SessionLike = Union[Session, HighConcurrencySession, StatementTarget, int, str]

#: Fabric: run the session in a Fabric Environment (libraries, Spark settings).
ENVIRONMENT_CONF_KEY = "spark.fabric.environmentDetails"
#: Fabric: these settings move a session off the starter pool (~3 min start instead of ~40 s).
SLOW_START_CONF_KEYS = frozenset({"spark.livy.session.idle.timeout"})

_AMBIGUOUS_STATUSES = frozenset({502, 503, 504})
_RESOLVE_DELAYS = (0.0, 0.25, 0.75)  # listings before concluding "the server never created it"


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
        max_retry_after: float = 120.0,
        throttle_retries: int = 5,
        submit_attempts: int = 3,
        backoff_factor: float = 0.25,
        pool_size: int = 10,
    ) -> None:
        self.endpoint = endpoint_from_url(endpoint) if isinstance(endpoint, str) else endpoint
        if token_provider is not None and not (self.endpoint.is_https or self.endpoint.is_loopback):
            raise ConfigurationError(
                f"Refusing to send a bearer token over plain HTTP to {self.endpoint.root}. "
                "Use an https:// URL (plain http is only allowed to localhost)."
            )
        self.timeout = timeout
        self.statement_poll = statement_poll
        self.session_poll = session_poll
        self.max_retry_after = max_retry_after
        self.throttle_retries = throttle_retries
        self.submit_attempts = max(1, submit_attempts)
        self.backoff_factor = backoff_factor
        self._auth = BearerAuth(token_provider) if token_provider is not None else None
        self._http = build_http_session(pool_size=pool_size, backoff_factor=backoff_factor,
                                        max_retry_after=max_retry_after)
        self._http.headers.update({
            "X-Requested-By": requested_by,  # Livy's CSRF filter wants it on POST/DELETE
            "Accept": "application/json",
            "User-Agent": f"fabric-livy-magics ({requested_by})",
        })
        self._lock = threading.Lock()
        self._baseline: dict[StatementTarget, int] = {}  # highest statement id known per target
        self._claimed: dict[StatementTarget, set[int]] = {}  # ids this client created

    def __repr__(self) -> str:
        return f"LivyClient(endpoint={self.endpoint!r}, auth={self._auth!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> "LivyClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- HTTP core ---------------------------------------------------------------------------

    def _send(self, method: str, url: str, *, body: Any = None,
              params: Mapping[str, Any] | None = None) -> requests.Response:
        """One request (urllib3 retries below it); a 401 refreshes the token once and resends."""
        kwargs: dict[str, Any] = dict(params=params, timeout=self.timeout, auth=self._auth)
        if body is not None:
            kwargs["json"] = body
        response = self._http.request(method, url, **kwargs)
        if response.status_code == 401 and self._auth is not None:
            log.info("%s %s answered 401; refreshing the token once", method, url)
            self._auth.force_refresh()
            response.close()
            response = self._http.request(method, url, **kwargs)
        log.debug("%s %s -> %s", method, response.url, response.status_code)
        return response

    def _connection_error(self, exc: requests.RequestException, url: str, what: str) -> LivyError:
        where = url.split("?")[0]
        if isinstance(exc, requests.exceptions.SSLError):
            return LivyConnectionError(
                f"TLS failed talking to {where} while trying to {what}. Check the URL and, behind a "
                "corporate proxy, REQUESTS_CA_BUNDLE.")
        if isinstance(exc, requests.exceptions.Timeout) and not nothing_was_sent(exc):
            return LivyConnectionError(
                f"{where} did not answer within {self._read_timeout():.0f} s while trying to {what}. "
                "The server may be overloaded; try again, or raise the client timeout.")
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                            requests.exceptions.InvalidSchema)):
            return ConfigurationError(f"Invalid URL {where}: {exc}")
        return LivyConnectionError(
            f"Could not reach {where} while trying to {what} ({type(exc).__name__}). Check that the "
            "server is running and the URL is right.")

    def _read_timeout(self) -> float:
        return self.timeout[1] if isinstance(self.timeout, tuple) else float(self.timeout)

    def _parse_json(self, response: requests.Response, what: str) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "unknown content type")
            raise MalformedResponse(
                f"{response.url.split('?')[0]} answered {kind} that is not JSON while trying to "
                f"{what} (starts with {response.text[:60]!r}). Check that the URL points at a "
                "Livy or Fabric Livy API endpoint."
            ) from None

    def _call(self, method: str, url: str, *, what: str, body: Any = None,
              params: Mapping[str, Any] | None = None,
              not_found: type[LivyHTTPError] | None = None, repeatable_post: bool = False) -> Any:
        """A request whose repetition is harmless; returns the parsed JSON (or None)."""
        attempts = 0
        while True:
            attempts += 1
            try:
                response = self._send(method, url, body=body, params=params)
            except requests.RequestException as exc:
                if repeatable_post and attempts <= 3:
                    time.sleep(self._backoff(attempts))
                    continue
                raise self._connection_error(exc, url, what) from exc
            if (repeatable_post and response.status_code in THROTTLE_STATUSES | _AMBIGUOUS_STATUSES
                    and attempts <= self.throttle_retries):
                self._wait_retry_after(response, attempts)
                continue
            if response.status_code >= 400:
                raise error_from_response(response, what=what, not_found=not_found)
            return self._parse_json(response, what)

    def _backoff(self, attempt: int) -> float:
        return min(10.0, self.backoff_factor * (2 ** (attempt - 1))) * (0.75 + random.random() / 2)

    def _wait_retry_after(self, response: requests.Response, attempt: int) -> None:
        after = retry_after_seconds(response)
        delay = self._backoff(attempt) if after is None else min(after, self.max_retry_after)
        log.info("HTTP %s from %s; retrying in %.2f s", response.status_code,
                 response.url.split("?")[0], delay)
        response.close()
        time.sleep(delay)

    # --- sessions ----------------------------------------------------------------------------

    def _session_body(self, *, name: str | None, kind: str | None, conf: Mapping[str, Any] | None,
                      environment_id: str | None, driver_memory: str | None,
                      driver_cores: int | None, executor_memory: str | None,
                      executor_cores: int | None, num_executors: int | None,
                      tags: Mapping[str, str] | None, extra: Mapping[str, Any] | None,
                      ) -> dict[str, Any]:
        fabric = isinstance(self.endpoint, FabricEndpoint)
        conf_out: dict[str, Any] = {}
        for key, value in (conf or {}).items():
            # Fabric's conf is a string map; Livy accepts any JSON but strings are what Spark gets.
            conf_out[str(key)] = value if isinstance(value, str) else json.dumps(value)
        if environment_id:
            conf_out[ENVIRONMENT_CONF_KEY] = json.dumps({"id": str(environment_id)})
        if fabric:
            for key in SLOW_START_CONF_KEYS & set(conf_out):
                log.warning("Setting %s moves the session off Fabric's starter pool: expect about "
                            "3 minutes to start instead of about 40 s.", key)
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if kind is not None and not fabric:  # Fabric sessions take no kind; statements carry it
            body["kind"] = str(kind).lower()
        if conf_out:
            body["conf"] = conf_out
        if tags:
            if not fabric:
                raise ConfigurationError("Apache Livy sessions take no tags; remove the tags option.")
            body["tags"] = {str(k): str(v) for k, v in tags.items()}
        for key, value in (("driverMemory", driver_memory), ("driverCores", driver_cores),
                           ("executorMemory", executor_memory), ("executorCores", executor_cores),
                           ("numExecutors", num_executors)):
            if value is not None:
                body[key] = value
        body.update(extra or {})
        return body

    def _post_refusable(self, url: str, body: dict[str, Any], what: str) -> Any:
        """POST that must not be repeated unless the server clearly refused it (starts clusters)."""
        throttled = 0
        while True:
            try:
                response = self._send("POST", url, body=body)
            except requests.RequestException as exc:
                if nothing_was_sent(exc):
                    raise self._connection_error(exc, url, what) from exc
                raise LivyConnectionError(
                    f"The request to {what} was sent to {url} but no answer came back "
                    f"({type(exc).__name__}); it may have started anyway. List the sessions before "
                    "trying again, so that you do not start two.") from exc
            if response.status_code in THROTTLE_STATUSES and throttled < self.throttle_retries:
                throttled += 1
                self._wait_retry_after(response, throttled)
                continue
            if response.status_code >= 400:
                raise error_from_response(response, what=what)
            return self._parse_json(response, what)

    def create_session(
        self,
        *,
        name: str | None = None,
        kind: str | None = None,
        conf: Mapping[str, Any] | None = None,
        environment_id: str | None = None,
        driver_memory: str | None = None,
        driver_cores: int | None = None,
        executor_memory: str | None = None,
        executor_cores: int | None = None,
        num_executors: int | None = None,
        tags: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Session:
        """Ask for a new interactive session (Livy 201 / Fabric 202). It starts asynchronously:
        follow with :meth:`wait_for_session`. ``kind`` is sent to Livy only (Fabric statements
        carry their kind); ``environment_id`` sets Fabric's ``spark.fabric.environmentDetails``;
        ``extra`` adds raw request fields (e.g. Livy's ``proxyUser``, ``jars``, ``ttl``)."""
        body = self._session_body(
            name=name, kind=kind, conf=conf, environment_id=environment_id,
            driver_memory=driver_memory, driver_cores=driver_cores,
            executor_memory=executor_memory, executor_cores=executor_cores,
            num_executors=num_executors, tags=tags, extra=extra)
        url = self.endpoint.sessions_url()
        data = self._post_refusable(url, body, "create a session")
        return Session.from_json(data, url)

    def get_session(self, session_id: SessionId) -> Session:
        url = self.endpoint.session_url(session_id)
        data = self._call("GET", url, what=f"get session {session_id}", not_found=SessionNotFound)
        return Session.from_json(data, url)

    def list_sessions(self, *, start: int = 0, size: int | None = None) -> SessionPage:
        """One page of sessions (Livy ``from``/``size``, Fabric ``$skip``/``$top``)."""
        if isinstance(self.endpoint, FabricEndpoint):
            params: dict[str, Any] = {"$skip": start} if start else {}
            if size is not None:
                params["$top"] = size
        else:
            params = {"from": start}
            if size is not None:
                params["size"] = size
        url = self.endpoint.sessions_url()
        data = self._call("GET", url, what="list sessions", params=params)
        return SessionPage.from_json(data, url, start=start)

    def iter_sessions(self, *, page_size: int = 100) -> Iterator[Session]:
        """Every session, page by page."""
        start = 0
        while True:
            page = self.list_sessions(start=start, size=page_size)
            yield from page.sessions
            start += len(page.sessions)
            if not page.sessions or len(page.sessions) < page_size or (
                    page.total is not None and start >= page.total):
                return

    def delete_session(self, session_id: SessionId, *, missing_ok: bool = False) -> None:
        """Stop a session. ``missing_ok``: a session that is already gone is not an error."""
        try:
            self._call("DELETE", self.endpoint.session_url(session_id),
                       what=f"delete session {session_id}", not_found=SessionNotFound)
        except SessionNotFound:
            if not missing_ok:
                raise
        with self._lock:
            for target in [t for t in self._claimed if t.session_id == session_id]:
                self._claimed.pop(target, None)
                self._baseline.pop(target, None)

    def get_session_state(self, session_id: SessionId) -> SessionState:
        if self.endpoint.supports_log_route:
            url = self.endpoint.session_state_url(session_id)
            data = self._call("GET", url, what=f"get the state of session {session_id}",
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
            session = self.get_session(session_id)
            first = max(0, len(session.log) - size) if start is None else start
            return SessionLog(lines=tuple(session.log[first:first + size]), start=first,
                              total=len(session.log))
        url = self.endpoint.session_log_url(session_id)
        params: dict[str, Any] = {"size": size}
        if start is not None:
            params["from"] = start
        data = self._call("GET", url, what=f"get the log of session {session_id}",
                          params=params, not_found=SessionNotFound)
        return SessionLog.from_json(data, url)

    def reset_session_timeout(self, session_id: SessionId) -> None:
        """Keep an idle session alive (Fabric kills idle sessions after ~20 min).

        Fabric: ``POST reset-timeout``. Apache Livy has no such route; a GET of the session is
        the closest thing and at least proves it is still there."""
        if isinstance(self.endpoint, FabricEndpoint):
            self._call("POST", self.endpoint.reset_timeout_url(session_id),
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
        deadline = Deadline(timeout)
        began = time.monotonic()
        intervals = self.session_poll.intervals()
        last: tuple[Any, ...] | None = None
        while True:
            try:
                session = self.get_session(session_id)
            except SessionNotFound:
                if time.monotonic() - began >= not_found_grace or deadline.expired:
                    raise
                deadline.sleep(next(intervals))
                continue
            key = (session.state, session.fabric_state)
            if key != last:
                last = key
                if on_state_change is not None:
                    on_state_change(session)
            if session.state is SessionState.IDLE or (accept_busy and session.is_ready):
                return session
            if session.has_failed:
                raise self._session_failure(session)
            if deadline.expired:
                raise LivyTimeout(
                    f"Session {session_id} was not ready after {timeout:.0f} s (last state: "
                    f"{session.phase}). Wait longer, or delete it and start a new one.")
            deadline.sleep(next(intervals))

    def _session_failure(self, session: Session) -> SessionFailed:
        lines = list(session.log)
        if not lines and self.endpoint.supports_log_route:
            try:
                lines = list(self.get_session_log(session.id, size=50).lines)
            except LivyError:
                lines = []
        tail = lines[-50:]
        reason = session.error_message
        state = session.phase
        cls = SessionDead if session.state in SESSION_ENDED_STATES else SessionFailed
        message = f"Session {session.id} is {state}" + (f": {reason}" if reason else "") + \
            ". Start a new session."
        if tail:
            message += " Last log lines:\n" + "\n".join(tail[-8:])
        return cls(message, session_id=session.id, state=str(state), log=tail)

    # --- statements --------------------------------------------------------------------------

    def _target(self, session: SessionLike) -> StatementTarget:
        if isinstance(session, StatementTarget):
            return session
        if isinstance(session, HighConcurrencySession):
            return session.target
        if isinstance(session, Session):
            return StatementTarget(session.id)
        return StatementTarget(self.endpoint.parse_session_id(session))

    def _remember(self, target: StatementTarget, statements: Sequence[Statement],
                  claimed: bool = False) -> None:
        with self._lock:
            if statements:
                top = max(s.id for s in statements)
                self._baseline[target] = max(self._baseline.get(target, -1), top)
            if claimed:
                self._claimed.setdefault(target, set()).update(s.id for s in statements)

    def create_statement(self, session: SessionLike, code: str, kind: str | None = None, *,
                         source_id: str | None = None) -> Statement:
        """Submit code; returns at once (usually ``waiting``). Never runs the code twice: see the
        module docstring for how an ambiguous failure is resolved."""
        target = self._target(session)
        body: dict[str, Any] = {"code": code}
        if kind is not None:
            body["kind"] = str(kind).lower()
        if self.endpoint.supports_source_id:
            body["sourceId"] = source_id or str(uuid.uuid4())
        elif target not in self._baseline:
            # Livy has no sourceId: know which ids existed before, to recognise ours later.
            try:
                self._remember(target, self.list_statements(target))
            except (SessionNotFound, LivyConnectionError, LivyHTTPError):
                pass
        with self._lock:
            baseline = self._baseline.get(target, -1)
        url = self.endpoint.statements_url(target)
        what = f"submit a statement to session {target}"
        throttled = ambiguous = 0
        while True:
            try:
                response = self._send("POST", url, body=body)
            except requests.RequestException as exc:
                if nothing_was_sent(exc):  # urllib3 already retried the connect
                    raise self._connection_error(exc, url, what) from exc
                reason = f"{type(exc).__name__}"
            else:
                status = response.status_code
                if status in THROTTLE_STATUSES and throttled < self.throttle_retries:
                    throttled += 1  # refused: nothing ran
                    self._wait_retry_after(response, throttled)
                    continue
                if status not in _AMBIGUOUS_STATUSES:
                    if status >= 400:
                        raise error_from_response(response, what=what, not_found=SessionNotFound)
                    statement = Statement.from_json(self._parse_json(response, what), url)
                    self._remember(target, [statement], claimed=True)
                    return statement
                reason = f"HTTP {status}"
                self._wait_retry_after(response, ambiguous + 1)
            ambiguous += 1
            log.warning("Submitting to %s failed ambiguously (%s); checking whether it arrived",
                        target, reason)
            found = self._find_submitted(target, body, baseline)
            if found is not None:
                log.info("Statement %s had arrived; not resending", found.id)
                self._remember(target, [found], claimed=True)
                return found
            if ambiguous >= self.submit_attempts:
                raise LivyConnectionError(
                    f"Could not submit the statement to session {target} after {ambiguous} "
                    f"attempts ({reason}); it did not run. Check the connection and run it again.")
            log.info("Statement never arrived; resending (attempt %d)", ambiguous + 1)

    def _find_submitted(self, target: StatementTarget, body: Mapping[str, Any],
                        baseline: int) -> Statement | None:
        """Our statement if the server created it despite the failed answer (see module doc)."""
        source_id = body.get("sourceId")
        for delay in _RESOLVE_DELAYS:
            time.sleep(delay)
            try:
                statements = self.list_statements(target)
            except (LivyConnectionError, LivyHTTPError) as exc:
                log.info("Listing statements to resolve a submit failed: %s", exc)
                continue
            echoed = [s for s in statements if s.source_id]
            if source_id and echoed:
                matches = [s for s in echoed if s.source_id == source_id]
            else:
                with self._lock:
                    claimed = set(self._claimed.get(target, ()))
                matches = [s for s in statements if s.code == body["code"]
                           and s.id > baseline and s.id not in claimed]
            if matches:
                return min(matches, key=lambda s: s.id)
        return None

    def get_statement(self, session: SessionLike, statement_id: int, *, offset: int | None = None,
                      size: int | None = None) -> Statement:
        """One statement. ``offset``/``size`` (Fabric ``from``/``size``) page a large output."""
        target = self._target(session)
        params: dict[str, Any] = {}
        if offset is not None:
            params["from"] = offset
        if size is not None:
            params["size"] = size
        url = self.endpoint.statement_url(target, statement_id)
        data = self._call("GET", url, what=f"get statement {statement_id} of session {target}",
                          params=params or None, not_found=StatementNotFound)
        return Statement.from_json(data, url)

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
        data = self._call("GET", url, what=f"list the statements of session {target}",
                          not_found=SessionNotFound)
        if isinstance(data, dict):
            items = data.get("statements", data.get("items"))
        else:
            items = data
        if not isinstance(items, list):
            raise MalformedResponse(f"{url} answered a statement list without 'statements'.")
        statements = [Statement.from_json(item, url) for item in items]
        self._remember(target, statements)
        return statements

    def cancel_statement(self, session: SessionLike, statement_id: int) -> str:
        """Ask the server to cancel; returns its message (e.g. ``canceled``). Safe to repeat."""
        target = self._target(session)
        data = self._call("POST", self.endpoint.cancel_statement_url(target, statement_id),
                          what=f"cancel statement {statement_id} of session {target}",
                          not_found=StatementNotFound, repeatable_post=True)
        return str(data.get("msg", "")) if isinstance(data, dict) else str(data or "")

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

        The first poll goes out at once, then after 5, 10, 20 ms ... up to ``poll.cap``.
        ``on_progress(statement)`` runs when the state or progress changes. Raises LivyTimeout
        after ``timeout`` seconds (the statement keeps running: cancel it if you want it gone)."""
        target = self._target(session)
        deadline = Deadline(timeout)
        intervals = (poll or self.statement_poll).intervals()
        last: tuple[Any, ...] | None = None
        while True:
            try:
                statement = self.get_statement(target, statement_id)
            except StatementNotFound:
                self._raise_if_session_gone(target)
                raise
            key = (statement.state, statement.progress)
            if key != last:
                last = key
                if on_progress is not None:
                    on_progress(statement)
            if statement.is_finished:
                return statement
            if deadline.expired:
                raise LivyTimeout(
                    f"Statement {statement_id} in session {target} was still {statement.state} "
                    f"after {timeout:.0f} s. It keeps running; cancel it or wait again.")
            deadline.sleep(next(intervals))

    def _raise_if_session_gone(self, target: StatementTarget) -> None:
        if target.is_repl:
            return
        try:
            session = self.get_session(target.session_id)
        except SessionNotFound as exc:
            raise SessionDead(f"Session {target.session_id} is gone. Start a new session.",
                              session_id=target.session_id, state="gone") from exc
        if session.has_failed:
            raise self._session_failure(session)

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
        statement = self.create_statement(session, code, kind)
        try:
            if not statement.is_finished:
                statement = self.wait_for_statement(session, statement.id, timeout=timeout,
                                                    on_progress=on_progress)
        except KeyboardInterrupt:
            try:
                self.cancel_statement(session, statement.id)
            except LivyError as exc:
                log.warning("Could not cancel statement %s: %s", statement.id, exc)
            raise StatementCancelled(
                f"Statement {statement.id} was interrupted and cancelled on the server.") from None
        if raise_on_error:
            statement.raise_for_status()
        return statement

    # --- high concurrency (Fabric) -----------------------------------------------------------

    def _require_hc(self) -> None:
        if not self.endpoint.supports_high_concurrency:
            raise ConfigurationError("High-concurrency sessions exist only on Fabric endpoints.")

    def acquire_high_concurrency_session(
        self,
        tag: str | None = None,
        *,
        name: str | None = None,
        conf: Mapping[str, Any] | None = None,
        environment_id: str | None = None,
        driver_memory: str | None = None,
        driver_cores: int | None = None,
        executor_memory: str | None = None,
        executor_cores: int | None = None,
        num_executors: int | None = None,
        tags: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> HighConcurrencySession:
        """Ask for a REPL in a shared Spark session; ``tag`` packs sessions with the same tag
        together. Not idempotent: each call takes another REPL (at most 5 per session)."""
        self._require_hc()
        body = self._session_body(
            name=name, kind=None, conf=conf, environment_id=environment_id,
            driver_memory=driver_memory, driver_cores=driver_cores,
            executor_memory=executor_memory, executor_cores=executor_cores,
            num_executors=num_executors, tags=tags, extra=extra)
        if tag is not None:
            body["sessionTag"] = tag
        url = self.endpoint.hc_sessions_url()
        data = self._post_refusable(url, body, "acquire a high-concurrency session")
        return HighConcurrencySession.from_json(data, url)

    def get_high_concurrency_session(self, hc_id: str) -> HighConcurrencySession:
        self._require_hc()
        url = self.endpoint.hc_session_url(hc_id)
        data = self._call("GET", url, what=f"get high-concurrency session {hc_id}",
                          not_found=SessionNotFound)
        return HighConcurrencySession.from_json(data, url)

    def delete_high_concurrency_session(self, hc_id: str, *, missing_ok: bool = False) -> None:
        """Release the REPL; the last one released ends the shared Spark session."""
        self._require_hc()
        try:
            self._call("DELETE", self.endpoint.hc_session_url(hc_id),
                       what=f"delete high-concurrency session {hc_id}", not_found=SessionNotFound)
        except SessionNotFound:
            if not missing_ok:
                raise

    def wait_for_high_concurrency_session(
        self,
        hc_id: str,
        *,
        timeout: float | None = 600.0,
        on_state_change: Callable[[HighConcurrencySession], None] | None = None,
        not_found_grace: float = 15.0,
    ) -> HighConcurrencySession:
        """Poll until Idle with a REPL id; then ``.target`` routes statements to that REPL."""
        self._require_hc()
        deadline = Deadline(timeout)
        began = time.monotonic()
        intervals = self.session_poll.intervals()
        last: tuple[Any, ...] | None = None
        while True:
            try:
                hc = self.get_high_concurrency_session(hc_id)
            except SessionNotFound:
                if time.monotonic() - began >= not_found_grace or deadline.expired:
                    raise
                deadline.sleep(next(intervals))
                continue
            key = (hc.state, hc.fabric_state, hc.repl_id)
            if key != last:
                last = key
                if on_state_change is not None:
                    on_state_change(hc)
            if hc.is_ready:
                return hc
            if hc.has_failed:
                cls = SessionDead if hc.state in (HighConcurrencyState.DEAD,
                                                  HighConcurrencyState.KILLED) else SessionFailed
                reason = f": {hc.fabric_error_message}" if hc.fabric_error_message else ""
                raise cls(f"High-concurrency session {hc.id} is {hc.phase}{reason}. "
                          "Acquire a new one.", session_id=hc.id, state=str(hc.state))
            if deadline.expired:
                raise LivyTimeout(
                    f"High-concurrency session {hc_id} was not ready after {timeout:.0f} s "
                    f"(last state: {hc.phase}). Wait longer, or delete it and acquire another.")
            deadline.sleep(next(intervals))
