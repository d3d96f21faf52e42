"""The ASGI app: Apache Livy's URL shape and Fabric's Livy API shape over one session registry.

Livy shape: ``/sessions[/{id}[/state|/log|/statements[/{sid}[/cancel]]|/completion]]``, ``/version``.
Fabric shape: ``/v1/workspaces/{ws}/lakehouses/{lh}/livyApi/versions/{v}/sessions/...`` (also
``livyapi``) and ``.../highConcurrencySessions/...``. Session references accept the int id or
the GUID in both shapes.

Status choices beyond the specs: a statement posted to an ended session answers 409 (Livy says
500); too many sessions answer 429 (Livy shape 400 has no retry meaning, Fabric throttles with 429).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import sys
import traceback
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fabric_livy_magics.server import views
from fabric_livy_magics.server.batch_routes import batch_routes
from fabric_livy_magics.server.batches import BatchRegistry
from fabric_livy_magics.server.bodies import (
    completion_request,
    parse_json,
    session_request,
    statement_request,
)
from fabric_livy_magics.server.errors import ApiError
from fabric_livy_magics.server.ids import parse_int_id, shown_ref
from fabric_livy_magics.server.high_concurrency import HighConcurrencySessions
from fabric_livy_magics.server.routing import (
    fabric_ids,
    int_param,
    is_fabric,
    json_response,
    list_page,
    log_page,
    shape_routes,
)
from fabric_livy_magics.server.sessions import DEFAULT_REPL, Registry, Repl, Session

__all__ = ["build_app"]

COMPLETION_TIMEOUT = 5.0


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fabric-livy-magics")
    except PackageNotFoundError:
        return "dev"


def _path_int(request: Request, name: str) -> int:
    raw = request.path_params[name]
    value = parse_int_id(raw)
    if value is None:
        raise ApiError(404, f"Statement '{shown_ref(raw)}' not found: statement ids are whole numbers.",
                       "StatementNotFound")
    return value


class LivyApp:
    """Route handlers; each one is a few registry calls and a view."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.hc = HighConcurrencySessions(registry)

    # -- helpers ----------------------------------------------------------------------------
    def _session(self, request: Request) -> Session:
        return self.registry.get(request.path_params["session"])

    def _repl(self, request: Request, session: Session) -> Repl:
        return self.registry.repl(session, request.path_params.get("repl", DEFAULT_REPL))

    # -- both shapes ------------------------------------------------------------------------
    async def version(self, request: Request) -> Response:
        return json_response({"version": f"0.8.0-fabric-livy-local-{_package_version()}", "user": None, "revision": None, "branch": None, "date": None, "url": None})

    async def create_session(self, request: Request) -> Response:
        ids = fabric_ids(request)
        spec = session_request(parse_json(await request.body(), required=False), livy=ids is None)
        session = await asyncio.to_thread(self.registry.create_session, spec)
        if ids:
            return json_response(views.fabric_session(session, *ids), 202)
        return json_response(views.livy_session(session), 201)

    async def list_sessions(self, request: Request) -> Response:
        return list_page(request, self.registry.list(), views.livy_session, views.fabric_session)

    async def get_session(self, request: Request) -> Response:
        session = self._session(request)
        ids = fabric_ids(request)
        return json_response(views.fabric_session(session, *ids) if ids else views.livy_session(session))

    async def delete_session(self, request: Request) -> Response:
        fabric_ids(request)
        self.registry.delete(self._session(request))
        return json_response({"msg": "deleted"})

    async def session_state(self, request: Request) -> Response:
        session = self._session(request)
        return json_response({"id": session.id, "state": session.state})

    async def session_log(self, request: Request) -> Response:
        session = self._session(request)
        return log_page(request, session.id, list(session.log))

    async def reset_timeout(self, request: Request) -> Response:
        fabric_ids(request)
        self.registry.touch(self._session(request))
        return Response(status_code=204)

    async def create_statement(self, request: Request) -> Response:
        fabric = fabric_ids(request) is not None
        session = self._session(request)
        repl = self._repl(request, session)
        body = statement_request(parse_json(await request.body(), required=True), livy=not fabric, default_kind=session.kind)
        statement = self.registry.submit(session, repl, body["code"], body["kind"], body["sourceId"])
        if fabric:
            return json_response(views.fabric_statement(statement), 200)
        return json_response(views.livy_statement(statement), 201)

    async def list_statements(self, request: Request) -> Response:
        fabric = fabric_ids(request) is not None
        session = self._session(request)
        statements = list(self._repl(request, session).statements.values())
        render = views.fabric_statement if fabric else views.livy_statement
        return json_response({"total_statements": len(statements), "statements": [render(s) for s in statements]})

    async def get_statement(self, request: Request) -> Response:
        fabric = fabric_ids(request) is not None
        session = self._session(request)
        statement = self.registry.statement(self._repl(request, session), _path_int(request, "statement"))
        if fabric:
            return json_response(views.fabric_statement(statement, int_param(request, "from"), int_param(request, "size")))
        return json_response(views.livy_statement(statement))

    async def cancel_statement(self, request: Request) -> Response:
        fabric_ids(request)
        session = self._session(request)
        repl = self._repl(request, session)
        statement = self.registry.statement(repl, _path_int(request, "statement"))
        self.registry.cancel(session, repl, statement)
        return json_response({"msg": "canceled"})

    async def completion(self, request: Request) -> Response:
        session = self._session(request)
        body = completion_request(parse_json(await request.body(), required=True))
        future = self.registry.complete(session, self._repl(request, session), body["code"], body["cursor"])
        try:
            candidates = await asyncio.wait_for(asyncio.wrap_future(future), COMPLETION_TIMEOUT)
        except TimeoutError:
            candidates = []
        return json_response({"candidates": candidates})

    # -- high concurrency (Fabric only) -----------------------------------------------------
    async def create_hc(self, request: Request) -> Response:
        ids = fabric_ids(request)
        assert ids is not None  # a Fabric-only route
        spec = session_request(parse_json(await request.body(), required=False), livy=False)
        hc = await asyncio.to_thread(self.hc.create, spec, spec.get("sessionTag"))
        return json_response(views.fabric_hc_session(hc, *ids), 202)

    async def get_hc(self, request: Request) -> Response:
        ids = fabric_ids(request)
        assert ids is not None  # a Fabric-only route
        return json_response(views.fabric_hc_session(self.hc.get(request.path_params["hc"]), *ids))

    async def delete_hc(self, request: Request) -> Response:
        fabric_ids(request)
        self.hc.delete(self.hc.get(request.path_params["hc"]))
        return json_response({"msg": "deleted"})

    # -- routing ----------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        s = "/sessions/{session}"
        st = s + "/statements"
        hc = "/highConcurrencySessions"
        hc_st = hc + "/{session}/repls/{repl}/statements"
        statements = [
            ("GET", st, self.list_statements),
            ("POST", st, self.create_statement),
            ("GET", st + "/{statement}", self.get_statement),
            ("POST", st + "/{statement}/cancel", self.cancel_statement),
        ]
        return shape_routes(
            livy_only=[
                ("GET", "/version", self.version),
                ("GET", s + "/state", self.session_state),
                ("GET", s + "/log", self.session_log),
                ("POST", s + "/completion", self.completion),
            ],
            both=[
                ("GET", "/sessions", self.list_sessions),
                ("POST", "/sessions", self.create_session),
                ("GET", s, self.get_session),
                ("DELETE", s, self.delete_session),
                *statements,
            ],
            fabric_only=[
                ("POST", s + "/reset-timeout", self.reset_timeout),
                ("POST", hc, self.create_hc),
                ("GET", hc + "/{hc}", self.get_hc),
                ("DELETE", hc + "/{hc}", self.delete_hc),
                *[(method, path.replace(st, hc_st), handler) for method, path, handler in statements],
            ],
        )


def _error_payload(fabric: bool, message: str, code: str, request_id: str) -> dict[str, str]:
    """Fabric's ``{errorCode, message, requestId}`` or Livy's ``{msg}``."""
    return {"errorCode": code, "message": message, "requestId": request_id} if fabric else {"msg": message}


def _error_body(request: Request, status: int, message: str, code: str) -> Response:
    rid = request.scope.get("state", {}).get("request_id", "")
    return json_response(_error_payload(is_fabric(request.url.path), message, code, rid), status)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_body(request, exc.status, exc.message, exc.error_code)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _error_body(request, 404, f"No such resource: {request.method} {request.url.path}.", "NotFound")
    if exc.status_code == 405:
        return _error_body(request, 405, f"Method {request.method} is not allowed on {request.url.path}.", "MethodNotAllowed")
    return _error_body(request, exc.status_code, str(exc.detail), "HttpError")


async def _internal_error(request: Request, exc: Exception) -> Response:
    print(f"fabric-livy serve: internal error on {request.method} {request.url.path}", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
    message = f"The server failed on {request.method} {request.url.path}; its log has the details. Please report it."
    return _error_body(request, 500, message, "InternalError")


#: Methods a browser may send cross-site without a preflight check never change anything here.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_MESSAGE = ("Missing Required Header for CSRF protection: send 'X-Requested-By: <anything>' (or an "
                "Authorization header) with every POST and DELETE, as Apache Livy requires; Livy clients, "
                "sparkmagic and Fabric clients already do.")
#: Default bound of a request body; ``fabric-livy serve --max-body-mb`` changes it.
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
#: A body that has not fully arrived after this many seconds is answered 408.
BODY_TIMEOUT_SECONDS = 60.0


class GuardMiddleware:
    """The server's edge, as plain ASGI: bearer token (constant time), Livy's CSRF rule, bounded
    request bodies, and Fabric's request-id headers.

    CSRF: a web page on any origin can make the browser POST to a loopback port (a ``text/plain``
    form post needs no preflight). A custom header cannot be sent cross-site without the server
    agreeing to a preflight, which this server never does; so a change needs ``X-Requested-By``
    (Livy's ``csrf-protection``) or the server's bearer token."""

    def __init__(self, app: ASGIApp, token: str | None, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 body_timeout: float = BODY_TIMEOUT_SECONDS) -> None:
        self.app = app
        self._token = f"Bearer {token}".encode() if token else None
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

        async def refuse(status: int, message: str, code: str, extra: list[tuple[bytes, bytes]] = ()) -> None:
            body = json.dumps(_error_payload(fabric, message, code, request_id)).encode()
            headers = [(b"content-type", b"application/json"), (b"connection", b"close"), *extra, *id_headers]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        headers = dict(scope["headers"])
        if self._token is not None:
            if not hmac.compare_digest(headers.get(b"authorization", b""), self._token):
                message = "Missing or wrong bearer token: send 'Authorization: Bearer <token>' with the server's --token."
                await refuse(401, message, "Unauthorized", [(b"www-authenticate", b"Bearer")])
                return
        elif (scope["method"] not in SAFE_METHODS and not headers.get(b"x-requested-by", b"").strip()
              and not headers.get(b"authorization", b"").strip()):
            await refuse(400, CSRF_MESSAGE, "MissingCsrfHeader")
            return
        if scope["method"] not in SAFE_METHODS:
            receive = await self._bounded_body(headers, receive, refuse)
            if receive is None:
                return
        if not fabric:
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *id_headers]}
            await send(message)

        await self.app(scope, receive, send_with_id)

    async def _bounded_body(self, headers: dict[bytes, bytes], receive: Receive, refuse: Any) -> Receive | None:
        """Read the whole body within the size and time bounds, then replay it to the app.
        None when the request was refused (413, 408) or the client went away."""
        limit = self.max_body_bytes
        too_big = (f"The request body is larger than this server accepts ({limit // (1024 * 1024)} MB; "
                   "fabric-livy serve --max-body-mb raises it).")
        declared = headers.get(b"content-length", b"").strip()
        if declared and (not declared.isdigit() or len(declared) > 19 or int(declared) > limit):
            await refuse(413 if declared.isdigit() else 400,
                         too_big if declared.isdigit() else "Content-Length is not a number.", "RequestTooLarge")
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


def build_app(registry: Registry, token: str | None = None, *,
              max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> ASGIApp:
    """The server app over ``registry``; with ``token`` every request needs that bearer token."""
    handlers = LivyApp(registry)
    batches = BatchRegistry(registry.config, registry.workdirs)  # spark-submit jobs; stopped with the sessions
    registry.on_shutdown.append(batches.shutdown)
    app = Starlette(
        routes=handlers.routes() + batch_routes(batches),
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _internal_error},
    )
    return GuardMiddleware(app, token, max_body_bytes=max_body_bytes)
