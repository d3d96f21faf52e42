"""Submitting a statement without ever running it twice (``LivyClient.create_statement``).

``POST .../statements`` runs user code, so it is never repeated blindly. The rule:

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
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import requests

from fabric_livy_magics.livy.endpoints import Endpoint
from fabric_livy_magics.errors import (
    LivyConnectionError,
    LivyHTTPError,
    SessionNotFound,
)
from fabric_livy_magics.livy.http_core import AMBIGUOUS_STATUSES, HttpCore
from fabric_livy_magics.livy.models import Statement, StatementTarget
from fabric_livy_magics.livy.transport import THROTTLE_STATUSES, error_from_response, nothing_was_sent

if TYPE_CHECKING:
    from fabric_livy_magics.livy.client import SessionLike

__all__ = ["StatementSubmission"]

log = logging.getLogger(__name__)

_RESOLVE_DELAYS = (0.0, 0.25, 0.75)  # listings before concluding "the server never created it"


class StatementSubmission(HttpCore):
    """``create_statement`` and the bookkeeping it needs: which statement ids existed before
    sending, and which ones this client created (so an ambiguous failure adopts the right one)."""

    endpoint: Endpoint
    submit_attempts: int
    _lock: threading.Lock
    _baseline: dict[StatementTarget, int]  # highest statement id known per target
    _claimed: dict[StatementTarget, set[int]]  # ids this client created

    if TYPE_CHECKING:
        def _target(self, session: SessionLike) -> StatementTarget: ...
        def list_statements(self, session: SessionLike) -> list[Statement]: ...

    def _remember(self, target: StatementTarget, statements: Sequence[Statement],
                  claimed: bool = False) -> None:
        with self._lock:
            if statements:
                top = max(s.id for s in statements)
                self._baseline[target] = max(self._baseline.get(target, -1), top)
            if claimed:
                self._claimed.setdefault(target, set()).update(s.id for s in statements)

    def _forget_session(self, session_id: Any) -> None:
        """Drop the bookkeeping of a deleted session's targets."""
        with self._lock:
            for target in [t for t in self._claimed if t.session_id == session_id]:
                self._claimed.pop(target, None)
                self._baseline.pop(target, None)

    def create_statement(self, session: SessionLike, code: str, kind: str | None = None, *,
                         source_id: str | None = None) -> Statement:
        """Submit code; returns at once (usually ``waiting``). Never runs the code twice: see the
        docstring of ``fabric_livy_magics.livy.statement_submit`` for how an ambiguous failure is
        resolved."""
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
                reason = type(exc).__name__
            else:
                status = response.status_code
                if status in THROTTLE_STATUSES and throttled < self.throttle_retries:
                    throttled += 1  # refused: nothing ran
                    self._wait_retry_after(response, throttled)
                    continue
                if status not in AMBIGUOUS_STATUSES:
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
