"""Connections that must send their request headers in time.

uvicorn bounds the size of request headers (``h11_max_incomplete_event_size``) and the idle time
between requests (``timeout_keep_alive``), but not the time a request's headers take to arrive:
its keep-alive timer is disarmed by every byte received, and a new connection that sends nothing
is never timed out (uvicorn issue #157, "--timeout-request-start", still open). A client trickling
one byte at a time could hold connections until ``limit_concurrency`` turns everyone away with 503.
Here a connection gets ``header_timeout`` seconds from its first moment (or from the first byte
of its next request) to complete the headers, else it is closed. The body has its own bound in
``guard.py``; a request being answered, however long it takes, is never cut.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HEADER_TIMEOUT_SECONDS", "protocol_with_header_deadline"]

#: Seconds a client has to send a request's headers (``fabric-livy serve --header-timeout``).
HEADER_TIMEOUT_SECONDS = 10.0


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on receiving each request's headers."""

    header_timeout = HEADER_TIMEOUT_SECONDS
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._waiting_for_headers():
            self._arm()
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _waiting_for_headers(self) -> bool:
        """No request is being read or answered: bytes received belong to the next request's headers."""
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_timer is None and not self.transport.is_closing():
            self._header_timer = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expired(self) -> None:
        self._header_timer = None
        if self._waiting_for_headers() and not self.transport.is_closing():
            self.transport.close()


def protocol_with_header_deadline(seconds: float) -> type[H11Protocol]:
    """The protocol class to pass as uvicorn's ``http=``, with headers due within ``seconds``."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout": seconds})
