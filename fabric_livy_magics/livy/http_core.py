"""The request machinery under ``LivyClient`` and ``BatchClient``: send, map errors, parse JSON.

``transport.py`` builds the pooled ``requests.Session`` and retries GET/DELETE below us; this
module decides what a *POST* may repeat, because only the caller knows whether repeating is safe:

* :meth:`HttpCore.call`: a request whose repetition is harmless (GET, DELETE, cancel,
  reset-timeout).
* :meth:`HttpCore.post_refusable`: a POST that starts a cluster or a job (``POST sessions``,
  ``POST highConcurrencySessions``, ``POST batches``). It is resent only when the server clearly
  refused it: connection refused before sending, or 429/430 (honouring ``Retry-After``). After
  any other failure it raises and says to list what exists first.
* A 401 makes the client ask the token provider for a fresh token once and resend.

requests' own errors never reach this module: ``transport.send`` turns them into
``LivyConnectionError`` (with ``nothing_sent``) or ``ConfigurationError``.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any, Callable, Mapping

from fabric_livy_magics.errors import LivyConnectionError, LivyHTTPError, MalformedResponse
from fabric_livy_magics.livy.transport import (
    THROTTLE_STATUSES,
    BearerAuth,
    Response,
    TokenSource,
    build_http_session,
    error_from_response,
    retry_after_seconds,
    send,
)

__all__ = ["HttpCore", "AMBIGUOUS_STATUSES", "STATEMENT_WAIT_HEADER"]

log = logging.getLogger(__name__)

#: Answers after which a POST may or may not have been acted on.
AMBIGUOUS_STATUSES = frozenset({502, 503, 504})

#: Extra tries of a repeatable POST (cancel, reset-timeout) whose connection failed.
_CONNECTION_RETRIES = 3

_START_ADVICE = ("it may have started anyway. List the sessions before trying again, so that you "
                 "do not start two.")


#: The header by which a server offers ``GET .../statements/{id}?wait=MS`` (wait for a change).
STATEMENT_WAIT_HEADER = "X-Livy-Statement-Wait-Max-Ms"


class HttpCore:
    """One keep-alive connection pool with auth, timeouts and the POST-retry rules above."""

    def __init__(
        self,
        token_provider: TokenSource | None,
        *,
        timeout: float | tuple[float, float],
        requested_by: str,
        max_retry_after: float,
        throttle_retries: int,
        backoff_factor: float,
        pool_size: int,
    ) -> None:
        self.timeout = timeout
        self.max_retry_after = max_retry_after
        self.throttle_retries = throttle_retries
        self.backoff_factor = backoff_factor
        self._auth = BearerAuth(token_provider) if token_provider is not None else None
        #: Told before each wait for a throttled or refused request (what, seconds), so a
        #: progress line can say what is being waited for instead of going quiet.
        self.on_wait: Callable[[str, float], None] | None = None
        #: The longest ``?wait=`` (ms) the server offers on statement GETs, once it has said so
        #: (the local server does; Apache Livy and Fabric never do, and are polled as before).
        self.statement_wait_ms: int | None = None
        #: False: ignore that offer and poll (for comparisons, or a proxy that cuts long requests).
        self.use_statement_wait = True
        self._http = build_http_session(pool_size=pool_size, backoff_factor=backoff_factor,
                                        max_retry_after=max_retry_after)
        self._http.headers.update({
            "X-Requested-By": requested_by,  # Livy's CSRF filter wants it on POST/DELETE
            "Accept": "application/json",
            "User-Agent": f"fabric-livy-magics ({requested_by})",
        })

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def send(self, method: str, url: str, *, what: str, body: Any = None,
             params: Mapping[str, Any] | None = None) -> Response:
        """One request (urllib3 retries below it); a 401 refreshes the token once and resends.
        A request that got no answer raises LivyConnectionError (see ``nothing_sent``)."""
        kwargs: dict[str, Any] = dict(params=params, timeout=self.timeout, auth=self._auth)
        if body is not None:
            kwargs["json"] = body
        response = send(self._http, method, url, what=what, read_timeout=self._read_timeout(), **kwargs)
        if response.status_code == 401 and self._auth is not None:
            log.info("%s %s answered 401; refreshing the token once", method, url)
            self._auth.force_refresh()
            response.close()
            response = send(self._http, method, url, what=what, read_timeout=self._read_timeout(), **kwargs)
        log.debug("%s %s -> %s", method, response.url, response.status_code)
        offered = response.headers.get(STATEMENT_WAIT_HEADER, "").strip()
        if self.use_statement_wait and offered.isascii() and offered.isdigit() and len(offered) <= 7:
            self.statement_wait_ms = int(offered)
        return response

    def _read_timeout(self) -> float:
        return self.timeout[1] if isinstance(self.timeout, tuple) else float(self.timeout)

    def parse_json(self, response: Response, what: str) -> Any:
        """The answer's JSON; an answer that is not JSON (or nests too deeply to be an answer of
        this API) is MalformedResponse naming the URL."""
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except (ValueError, RecursionError) as exc:
            kind = response.headers.get("Content-Type", "unknown content type")
            problem = "nests too deeply to be JSON of this API" if isinstance(exc, RecursionError) else \
                "that is not JSON"
            raise MalformedResponse(
                f"{response.url.split('?')[0]} answered {kind} {problem} while trying to "
                f"{what} (starts with {response.text[:60]!r}). Check that the URL points at a "
                "Livy or Fabric Livy API endpoint."
            ) from None

    def call(self, method: str, url: str, *, what: str, body: Any = None,
              params: Mapping[str, Any] | None = None,
              not_found: type[LivyHTTPError] | None = None, repeatable_post: bool = False) -> Any:
        """A request whose repetition is harmless; returns the parsed JSON (or None)."""
        attempts = 0
        while True:
            attempts += 1
            try:
                response = self.send(method, url, what=what, body=body, params=params)
            except LivyConnectionError:
                if repeatable_post and attempts <= _CONNECTION_RETRIES:
                    time.sleep(self._backoff(attempts))
                    continue
                raise
            if (repeatable_post and response.status_code in THROTTLE_STATUSES | AMBIGUOUS_STATUSES
                    and attempts <= self.throttle_retries):
                self.wait_retry_after(response, attempts)
                continue
            if response.status_code >= 400:
                raise error_from_response(response, what=what, not_found=not_found)
            return self.parse_json(response, what)

    def post_refusable(self, url: str, body: dict[str, Any], what: str, *,
                        subject: str | None = None, advice: str = _START_ADVICE) -> Any:
        """POST that must not be repeated unless the server clearly refused it (starts clusters).

        When the request went out but no answer came back, the error names ``subject`` (default:
        "The request to {what}") and gives ``advice``: it may have started anyway."""
        throttled = 0
        while True:
            try:
                response = self.send("POST", url, what=what, body=body)
            except LivyConnectionError as exc:
                if exc.nothing_sent:
                    raise
                cause = type(exc.__cause__).__name__ if exc.__cause__ else "no answer"
                raise LivyConnectionError(
                    f"{subject or f'The request to {what}'} was sent to {url} but no answer came "
                    f"back ({cause}); {advice}") from exc
            if response.status_code in THROTTLE_STATUSES and throttled < self.throttle_retries:
                throttled += 1  # refused: nothing started
                self.wait_retry_after(response, throttled)
                continue
            if response.status_code >= 400:
                raise error_from_response(response, what=what)
            return self.parse_json(response, what)

    def _backoff(self, attempt: int) -> float:
        return min(10.0, self.backoff_factor * (2 ** (attempt - 1))) * (0.75 + random.random() / 2)

    def wait_retry_after(self, response: Response, attempt: int) -> None:
        after = retry_after_seconds(response)
        delay = self._backoff(attempt) if after is None else min(after, self.max_retry_after)
        log.info("HTTP %s from %s; retrying in %.2f s", response.status_code,
                 response.url.split("?")[0], delay)
        response.close()
        if self.on_wait is not None:
            busy = "server busy" if response.status_code in THROTTLE_STATUSES else "server unavailable"
            self.on_wait(f"{busy} (HTTP {response.status_code}): retrying in {delay:.0f} s", delay)
        time.sleep(delay)
