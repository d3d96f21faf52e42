"""Submitting a statement without ever running it twice (``LivyClient.create_statement``).

``POST .../statements`` runs user code, so it is never repeated blindly. The rule:

1. Refused (connection not opened, 429, 430): nothing ran; wait (``Retry-After``) and resend.
2. Ambiguous (read timeout, connection dropped after sending, 502/503/504): list the target's
   statements and look for ours. On Fabric every statement carries a ``sourceId`` that the server
   echoes, so ours is the one with that ``sourceId``. On Apache Livy (no ``sourceId``) ours is a
   statement with exactly our code and an id above the highest id this client knew before sending
   (read once per session before its first statement) that this client has not already claimed.
   Found: adopt it, do not resend. Not found in three *successful* listings over about a second:
   the server never created it, so resend (at most ``submit_attempts`` times in all), with the
   same ``sourceId``, which a server uses to drop a duplicate.
3. A listing that fails says nothing: while it is unknown whether the statement arrived, it is
   never resent. Listing is retried for up to ``UNKNOWN_BOUND_SECONDS``; then the submit ends in
   ``LivyConnectionError`` saying the statement may have run and how to check.
4. Anything else (400, 404, 500 "session is starting", ...): raise, never resend.

Limit: on Apache Livy (no ``sourceId``), a request held in the network longer than the read
timeout plus that second, then delivered, could still run after the resend.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fabric_livy_magics.errors import LivyConnectionError, LivyHTTPError, SessionNotFound
from fabric_livy_magics.livy.endpoints import Endpoint
from fabric_livy_magics.livy.http_core import AMBIGUOUS_STATUSES, HttpCore
from fabric_livy_magics.livy.models import Statement, StatementTarget
from fabric_livy_magics.livy.transport import THROTTLE_STATUSES, error_from_response

__all__ = ["StatementSubmission", "UNKNOWN_BOUND_SECONDS"]

log = logging.getLogger(__name__)

_RESOLVE_DELAYS = (0.0, 0.25, 0.75)  # successful listings before concluding "never created"
#: How long failed listings are retried before the submit is reported as uncertain.
UNKNOWN_BOUND_SECONDS = 15.0


class StatementSubmission:
    """``create_statement`` and what it must remember: which statement ids existed before sending,
    and which ones this client created (so an ambiguous failure adopts the right one)."""

    def __init__(self, http: HttpCore, endpoint: Endpoint, *, submit_attempts: int,
                 list_statements: Callable[[StatementTarget], list[Statement]]) -> None:
        self.http = http
        self.endpoint = endpoint
        self.submit_attempts = max(1, submit_attempts)
        self.unknown_bound = UNKNOWN_BOUND_SECONDS
        self._list_statements = list_statements
        self._lock = threading.Lock()
        self._baseline: dict[StatementTarget, int] = {}  # highest statement id known per target
        self._claimed: dict[StatementTarget, set[int]] = {}  # ids this client created

    def remember(self, target: StatementTarget, statements: Sequence[Statement],
                 claimed: bool = False) -> None:
        """Statements seen on ``target`` (``claimed``: created by this client)."""
        with self._lock:
            if statements:
                top = max(s.id for s in statements)
                self._baseline[target] = max(self._baseline.get(target, -1), top)
            if claimed:
                self._claimed.setdefault(target, set()).update(s.id for s in statements)

    def forget_session(self, session_id: Any) -> None:
        """Drop the bookkeeping of a deleted session's targets."""
        with self._lock:
            for target in [t for t in self._claimed if t.session_id == session_id]:
                self._claimed.pop(target, None)
                self._baseline.pop(target, None)

    def create_statement(self, target: StatementTarget, code: str, kind: str | None = None, *,
                         source_id: str | None = None) -> Statement:
        """Submit code; returns at once (usually ``waiting``). Never runs the code twice (see the
        module docstring)."""
        body: dict[str, Any] = {"code": code}
        if kind is not None:
            body["kind"] = str(kind).lower()
        if self.endpoint.supports_source_id:
            body["sourceId"] = source_id or str(uuid.uuid4())
        elif target not in self._baseline:
            # Livy has no sourceId: know which ids existed before, to recognise ours later.
            try:
                self.remember(target, self._list_statements(target))
            except (LivyConnectionError, LivyHTTPError):
                pass
        with self._lock:
            baseline = self._baseline.get(target, -1)
        url = self.endpoint.statements_url(target)
        what = f"submit a statement to session {target}"
        throttled = ambiguous = 0
        while True:
            try:
                response = self.http.send("POST", url, what=what, body=body)
            except LivyConnectionError as exc:
                if exc.nothing_sent:  # urllib3 already retried the connect
                    raise
                reason = type(exc.__cause__).__name__ if exc.__cause__ else "no answer"
            else:
                status = response.status_code
                if status in THROTTLE_STATUSES and throttled < self.http.throttle_retries:
                    throttled += 1  # refused: nothing ran
                    self.http.wait_retry_after(response, throttled)
                    continue
                if status not in AMBIGUOUS_STATUSES:
                    if status >= 400:
                        raise error_from_response(response, what=what, not_found=SessionNotFound)
                    statement = Statement.from_json(self.http.parse_json(response, what), url)
                    self.remember(target, [statement], claimed=True)
                    return statement
                reason = f"HTTP {status}"
                self.http.wait_retry_after(response, ambiguous + 1)
            ambiguous += 1
            log.warning("Submitting to %s failed ambiguously (%s); checking whether it arrived",
                        target, reason)
            found = self._find_submitted(target, body, baseline, reason)
            if found is not None:
                log.info("Statement %s had arrived; not resending", found.id)
                self.remember(target, [found], claimed=True)
                return found
            if ambiguous >= self.submit_attempts:
                raise LivyConnectionError(
                    f"Could not submit the statement to session {target} after {ambiguous} "
                    f"attempts ({reason}); it did not run. Check the connection and run it again.")
            log.info("Statement never arrived; resending (attempt %d)", ambiguous + 1)

    def _find_submitted(self, target: StatementTarget, body: Mapping[str, Any], baseline: int,
                        reason: str) -> Statement | None:
        """Our statement if the server created it despite the failed answer; None only when
        enough listings *succeeded* without it. Listings that fail are retried up to
        ``unknown_bound`` seconds, then the submit is reported as uncertain (never resent)."""
        source_id = body.get("sourceId")
        clean = 0  # successful listings that did not show it
        failures = 0
        give_up = time.monotonic() + self.unknown_bound
        delay = _RESOLVE_DELAYS[0]
        while True:
            time.sleep(delay)
            try:
                statements = self._list_statements(target)
            except SessionNotFound:
                raise
            except (LivyConnectionError, LivyHTTPError) as exc:
                failures += 1
                log.info("Listing statements to resolve a submit failed: %s", exc)
                if time.monotonic() >= give_up:
                    raise LivyConnectionError(
                        f"The statement was sent to session {target} but its answer was lost "
                        f"({reason}), and the session's statements could not be listed for "
                        f"{self.unknown_bound:g} s, so it may have run. Check with `%livy status` "
                        "(or list the session's statements) before running it again.") from exc
                delay = min(1.0, 0.1 * 2 ** failures)
                continue
            match = self._ours(target, statements, body, source_id, baseline)
            if match is not None:
                return match
            clean += 1
            if clean >= len(_RESOLVE_DELAYS):
                return None
            delay = _RESOLVE_DELAYS[clean]

    def _ours(self, target: StatementTarget, statements: Sequence[Statement], body: Mapping[str, Any],
              source_id: Any, baseline: int) -> Statement | None:
        echoed = [s for s in statements if s.source_id]
        if source_id and echoed:
            matches = [s for s in echoed if s.source_id == source_id]
        else:
            with self._lock:
                claimed = set(self._claimed.get(target, ()))
            matches = [s for s in statements if s.code == body["code"]
                       and s.id > baseline and s.id not in claimed]
        return min(matches, key=lambda s: s.id) if matches else None
