"""Fabric high-concurrency sessions on ``LivyClient``: acquire a REPL in a shared Spark session.

Several notebooks can share one Spark session, each in its own REPL (at most 5 per session);
statements then go to ``highConcurrencySessions/{sessionId}/repls/{replId}/statements``. Apache
Livy has no such thing, so every method here refuses a non-Fabric endpoint.
"""

from __future__ import annotations

from typing import Callable, Unpack

from fabric_livy_magics.errors import ConfigurationError, SessionNotFound
from fabric_livy_magics.livy.bodies import ResourceOptions, SparkResources, session_body
from fabric_livy_magics.livy.endpoints import Endpoint
from fabric_livy_magics.livy.http_core import HttpCore
from fabric_livy_magics.livy.models import HighConcurrencySession
from fabric_livy_magics.livy.polling import PollPolicy
from fabric_livy_magics.livy.starting import wait_until_ready

__all__ = ["HighConcurrencyCalls"]


class HighConcurrencyCalls:
    """The ``highConcurrencySessions`` calls of :class:`~fabric_livy_magics.livy.client.LivyClient`."""

    def __init__(self, http: HttpCore, endpoint: Endpoint, session_poll: PollPolicy) -> None:
        self.http = http
        self.endpoint = endpoint
        self.session_poll = session_poll

    def _require_hc(self) -> None:
        if not self.endpoint.supports_high_concurrency:
            raise ConfigurationError("High-concurrency sessions exist only on Fabric endpoints.")

    def acquire_high_concurrency_session(
        self,
        tag: str | None = None,
        resources: SparkResources | None = None,
        **options: Unpack[ResourceOptions],
    ) -> HighConcurrencySession:
        """Ask for a REPL in a shared Spark session; ``tag`` packs sessions with the same tag
        together. Not idempotent: each call takes another REPL (at most 5 per session). The
        Spark settings are those of ``LivyClient.create_session``."""
        self._require_hc()
        body = session_body(self.endpoint, SparkResources.of(resources, **options), kind=None)
        if tag is not None:
            body["sessionTag"] = tag
        url = self.endpoint.hc_sessions_url()
        data = self.http.post_refusable(url, body, "acquire a high-concurrency session")
        return HighConcurrencySession.from_json(data, url)

    def get_high_concurrency_session(self, hc_id: str) -> HighConcurrencySession:
        self._require_hc()
        url = self.endpoint.hc_session_url(hc_id)
        data = self.http.call("GET", url, what=f"get high-concurrency session {hc_id}",
                              not_found=SessionNotFound)
        return HighConcurrencySession.from_json(data, url)

    def delete_high_concurrency_session(self, hc_id: str, *, missing_ok: bool = False) -> None:
        """Release the REPL; the last one released ends the shared Spark session."""
        self._require_hc()
        try:
            self.http.call("DELETE", self.endpoint.hc_session_url(hc_id),
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
        return wait_until_ready(
            lambda: self.get_high_concurrency_session(hc_id), hc_id,
            intervals=self.session_poll.intervals(), timeout=timeout, on_change=on_state_change,
            not_found_grace=not_found_grace, failed_hint="Acquire a new one.",
            timeout_hint="Wait longer, or delete it and acquire another.")
