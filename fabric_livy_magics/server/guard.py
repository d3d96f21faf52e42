"""The server's edge, as plain ASGI in front of the routes: who may ask, and how much they may send.

The checks, in order; the first that fails answers, in the caller's URL shape:

1. ``--token``: every request carries ``Authorization: Bearer <token>`` (compared in constant time),
   else 401. A server with a token skips 2-4: a web page cannot know the token.
2. Host: the ``Host`` header names a loopback address (``localhost``, ``127.0.0.1``, ``[::1]``), else
   403. A page whose own name an attacker re-points at 127.0.0.1 (DNS rebinding) is same-origin with
   this server and could otherwise read and send anything (Jupyter's ``allow_remote_access`` check).
3. CSRF: POST, PUT, PATCH and DELETE carry ``X-Requested-By`` (Apache Livy's
   ``livy.server.csrf-protection.enabled``, the same 400 text) or an ``Authorization: Bearer`` header.
   A page on any origin can make the browser POST a ``text/plain`` body to a loopback port without a
   preflight, but it cannot add a custom header unless the server agrees to a preflight, which this
   server never does.
4. Origin: a request a browser marks with its page's ``Origin`` comes from a loopback page (any
   port), else 403.
5. Body: at most ``max_body_bytes`` (413, by ``Content-Length`` or while a chunked body streams),
   complete within ``body_timeout`` seconds (408); the app then gets it whole.

Fabric-shaped answers also carry Fabric's request-id headers (``x-ms-request-id``, ``requestid``).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fabric_livy_magics.server.errors import error_payload
from fabric_livy_magics.server.ids import shown_ref
from fabric_livy_magics.server.routing import is_fabric

__all__ = ["BODY_TIMEOUT_SECONDS", "CSRF_MESSAGE", "DEFAULT_MAX_BODY_BYTES", "GuardMiddleware", "is_loopback_name"]

#: Methods a browser may send cross-site without a preflight check never change anything here.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_MESSAGE = ("Missing Required Header for CSRF protection: send 'X-Requested-By: <anything>' (or "
                "'Authorization: Bearer ...') with every POST and DELETE, as Apache Livy requires; Livy clients, "
                "sparkmagic and Fabric clients already do.")
#: Default bound of a request body; ``fabric-livy serve --max-body-mb`` changes it.
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
#: A body that has not fully arrived after this many seconds is answered 408 (``--body-timeout``).
BODY_TIMEOUT_SECONDS = 60.0

Refuse = Callable[..., Awaitable[None]]


def is_loopback_name(host: str) -> bool:
    """``localhost`` or a loopback IP address (``[::1]`` with or without brackets)."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_of(authority: str) -> str:
    """The host part of a ``Host`` header value (``[::1]:8998`` → ``[::1]``)."""
    if authority.startswith("["):
        return authority.partition("]")[0] + "]"
    return authority.rpartition(":")[0] if authority.count(":") == 1 else authority


def _loopback_origin(origin: str) -> bool:
    """An ``Origin`` header of a page served from this machine (``null`` is not one)."""
    try:
        parts = urlsplit(origin.strip())
        return parts.scheme in ("http", "https") and is_loopback_name(parts.hostname or "")
    except ValueError:
        return False


def _bearer(value: bytes) -> bytes:
    """The credentials of an ``Authorization: Bearer ...`` value; empty for any other scheme."""
    scheme, _, credentials = value.strip().partition(b" ")
    return credentials.strip() if scheme.lower() == b"bearer" else b""


class GuardMiddleware:
    """Token, Host, CSRF and Origin checks and bounded bodies in front of ``app`` (see the module)."""

    def __init__(self, app: ASGIApp, token: str | None, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 body_timeout: float = BODY_TIMEOUT_SECONDS) -> None:
        self.app = app
        self._token = token.encode() if token else None
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fabric = is_fabric(scope["path"])
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        id_headers = [(b"x-ms-request-id", request_id.encode()), (b"requestid", request_id.encode())] if fabric else []

        async def refuse(status: int, message: str, code: str, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
            body = json.dumps(error_payload(fabric, message, code, request_id)).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                       (b"connection", b"close"), *extra, *id_headers]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        refusal = self._refusal(scope["method"], dict(scope["headers"]))
        if refusal is not None:
            await refuse(*refusal)
            return
        if scope["method"] not in SAFE_METHODS:
            bounded = await self._bounded_body(dict(scope["headers"]), receive, refuse)
            if bounded is None:
                return
            receive = bounded
        if not fabric:
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *id_headers]}
            await send(message)

        await self.app(scope, receive, send_with_id)

    def _refusal(self, method: str, headers: dict[bytes, bytes]) -> tuple[int, str, str, list[tuple[bytes, bytes]]] | None:
        """(status, message, errorCode, extra headers) of checks 1-4, or None when the request may pass."""
        authorization = headers.get(b"authorization", b"")
        if self._token is not None:
            if hmac.compare_digest(_bearer(authorization), self._token):
                return None
            message = "Missing or wrong bearer token: send 'Authorization: Bearer <token>' with the server's --token."
            return 401, message, "Unauthorized", [(b"www-authenticate", b"Bearer")]
        host = headers.get(b"host", b"").decode("latin-1")
        if host and not is_loopback_name(_host_of(host)):
            message = (f"Host '{shown_ref(host)}' is not a loopback name: this server answers only requests to "
                       "localhost, 127.0.0.1 or [::1] unless it was started with --token.")
            return 403, message, "Forbidden", []
        if method not in SAFE_METHODS and not headers.get(b"x-requested-by", b"").strip() and not _bearer(authorization):
            return 400, CSRF_MESSAGE, "MissingCsrfHeader", []
        origin = headers.get(b"origin")
        if origin is not None and not _loopback_origin(origin.decode("latin-1")):
            message = (f"Requests from web pages of origin '{shown_ref(origin.decode('latin-1'))}' are refused: this "
                       "server runs any code it is sent, so only pages served from this machine may call it.")
            return 403, message, "Forbidden", []
        return None

    async def _bounded_body(self, headers: dict[bytes, bytes], receive: Receive, refuse: Refuse) -> Receive | None:
        """Read the whole body within the size and time bounds, then replay it to the app.
        None when the request was refused (413, 408) or the client went away."""
        limit = self.max_body_bytes
        too_big = (f"The request body is larger than this server accepts ({limit / (1024 * 1024):g} MB; "
                   "fabric-livy serve --max-body-mb raises it).")
        declared = headers.get(b"content-length", b"").strip()
        if declared and not declared.isdigit():
            await refuse(400, "Content-Length is not a number.", "InvalidRequest")
            return None
        if declared and (len(declared) > 19 or int(declared) > limit):
            await refuse(413, too_big, "RequestTooLarge")
            return None
        chunks: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        more = True
        while more:
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - loop.time()))
            except TimeoutError:
                await refuse(408, f"The request body did not arrive within {self.body_timeout:g} s.", "RequestTimeout")
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await refuse(413, too_big, "RequestTooLarge")
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return replay
