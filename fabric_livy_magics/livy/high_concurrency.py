"""Fabric high-concurrency sessions on ``LivyClient``: acquire a REPL in a shared Spark session.

Several notebooks can share one Spark session, each in its own REPL (at most 5 per session);
statements then go to ``highConcurrencySessions/{sessionId}/repls/{replId}/statements``. Apache
Livy has no such thing, so every method here refuses a non-Fabric endpoint.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from fabric_livy_magics.livy.endpoints import Endpoint
from fabric_livy_magics.errors import (
    ConfigurationError,
    LivyTimeout,
    SessionDead,
    SessionFailed,
    SessionNotFound,
)
from fabric_livy_magics.livy.http_core import HttpCore
from fabric_livy_magics.livy.models import HighConcurrencySession, HighConcurrencyState
from fabric_livy_magics.livy.polling import PollPolicy, poll_until
from fabric_livy_magics.livy.bodies import session_body

__all__ = ["HighConcurrencyCalls"]


class HighConcurrencyCalls(HttpCore):
    """The ``highConcurrencySessions`` calls of :class:`~fabric_livy_magics.livy.client.LivyClient`."""

    endpoint: Endpoint
    session_poll: PollPolicy

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
        together. Not idempotent: each call takes another REPL (at most 5 per session). The
        other options are those of ``LivyClient.create_session``."""
        self._require_hc()
        body = session_body(
            self.endpoint, kind=None, name=name, conf=conf, environment_id=environment_id,
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

        def ready(hc: HighConcurrencySession) -> bool:
            if hc.is_ready:
                return True
            if hc.has_failed:
                cls = SessionDead if hc.state in (HighConcurrencyState.DEAD,
                                                  HighConcurrencyState.KILLED) else SessionFailed
                reason = f": {hc.fabric_error_message}" if hc.fabric_error_message else ""
                raise cls(f"High-concurrency session {hc.id} is {hc.phase}{reason}. "
                          "Acquire a new one.", session_id=hc.id, state=str(hc.state))
            return False

        return poll_until(
            lambda: self.get_high_concurrency_session(hc_id),
            done=ready, intervals=self.session_poll.intervals(), timeout=timeout,
            change_key=lambda hc: (hc.state, hc.fabric_state, hc.repl_id),
            on_change=on_state_change, not_found=SessionNotFound, not_found_grace=not_found_grace,
            timed_out=lambda hc: LivyTimeout(
                f"High-concurrency session {hc_id} was not ready after {timeout:.0f} s "
                f"(last state: {hc.phase}). Wait longer, or delete it and acquire another."))
