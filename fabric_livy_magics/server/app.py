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
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fabric_livy_magics.server import views
from fabric_livy_magics.server.bodies import completion_request, parse_json, session_request, statement_request
from fabric_livy_magics.server.errors import ApiError
from fabric_livy_magics.server.sessions import Registry, Repl, Session

__all__ = ["build_app"]

FABRIC_PREFIX = "/v1/workspaces/{ws}/lakehouses/{lh}/{api}/versions/{version}"
COMPLETION_TIMEOUT = 5.0
Handler = Callable[[Request], Awaitable[Response]]


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fabric-livy-magics")
    except PackageNotFoundError:
        return "dev"


def _is_fabric(path: str) -> bool:
    return path.startswith("/v1/")


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str), status_code=status, media_type="application/json")


def _int_param(request: Request, name: str, default: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Query parameter '{name}' must be an integer, got '{raw}'.", "InvalidParameter") from None
    if value < 0:
        raise ApiError(400, f"Query parameter '{name}' must not be negative.", "InvalidParameter")
    return value


def _path_int(request: Request, name: str) -> int:
    raw = request.path_params[name]
    try:
        return int(raw)
    except ValueError:
        raise ApiError(404, f"Statement '{raw}' not found: statement ids are integers.", "StatementNotFound") from None


class LivyApp:
    """Route handlers; each one is a few registry calls and a view."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # -- helpers ----------------------------------------------------------------------------
    def _session(self, request: Request) -> Session:
        return self.registry.get(request.path_params["session"])

    def _fabric_ids(self, request: Request) -> tuple[str, str]:
        if request.path_params["api"].lower() != "livyapi":
            raise ApiError(404, f"No such API '{request.path_params['api']}': use livyApi.", "NotFound")
        return request.path_params["ws"], request.path_params["lh"]

    def _repl(self, request: Request, session: Session) -> Repl:
        return self.registry.repl(session, request.path_params.get("repl", "default"))

    # -- both shapes ------------------------------------------------------------------------
    async def version(self, request: Request) -> Response:
        return _json({"version": f"0.8.0-fabric-livy-local-{_package_version()}", "user": None, "revision": None, "branch": None, "date": None, "url": None})

    async def create_session(self, request: Request) -> Response:
        fabric = _is_fabric(request.url.path)
        if fabric:
            ws, lh = self._fabric_ids(request)
        spec = session_request(parse_json(await request.body(), required=False), livy=not fabric)
        session = await asyncio.to_thread(self.registry.create_session, spec)
        if fabric:
            return _json(views.fabric_session(session, ws, lh), 202)
        return _json(views.livy_session(session), 201)

    async def list_sessions(self, request: Request) -> Response:
        sessions = self.registry.list()
        if _is_fabric(request.url.path):
            ws, lh = self._fabric_ids(request)
            skip = _int_param(request, "$skip", 0) or 0
            top = _int_param(request, "$top")
            page = sessions[skip:] if top is None else sessions[skip : skip + top]
            answer: dict[str, Any] = {"items": [views.fabric_session(s, ws, lh) for s in page]}
            if request.query_params.get("$count", "").lower() == "true":
                answer["totalCountOfMatchedItems"] = len(sessions)
            answer["pageSize"] = len(page)
            return _json(answer)
        start = _int_param(request, "from", 0) or 0
        size = _int_param(request, "size", 100)
        page = sessions[start : start + (size if size is not None else 100)]
        return _json({"from": start, "total": len(sessions), "sessions": [views.livy_session(s) for s in page]})

    async def get_session(self, request: Request) -> Response:
        session = self._session(request)
        if _is_fabric(request.url.path):
            return _json(views.fabric_session(session, *self._fabric_ids(request)))
        return _json(views.livy_session(session))

    async def delete_session(self, request: Request) -> Response:
        if _is_fabric(request.url.path):
            self._fabric_ids(request)
        self.registry.delete(self._session(request))
        return _json({"msg": "deleted"})

    async def session_state(self, request: Request) -> Response:
        session = self._session(request)
        return _json({"id": session.id, "state": session.state})

    async def session_log(self, request: Request) -> Response:
        session = self._session(request)
        lines = list(session.log)
        size = _int_param(request, "size", 100)
        size = 100 if size is None else size
        start = _int_param(request, "from")
        start = max(0, len(lines) - size) if start is None else start
        return _json({"id": session.id, "from": start, "total": len(lines), "log": lines[start : start + size]})

    async def reset_timeout(self, request: Request) -> Response:
        self._fabric_ids(request)
        self.registry.touch(self._session(request))
        return Response(status_code=204)

    async def create_statement(self, request: Request) -> Response:
        fabric = _is_fabric(request.url.path)
        if fabric:
            self._fabric_ids(request)
        session = self._session(request)
        repl = self._repl(request, session)
        body = statement_request(parse_json(await request.body(), required=True), livy=not fabric, default_kind=session.kind)
        statement = self.registry.submit(session, repl, body["code"], body["kind"], body["sourceId"])
        if fabric:
            return _json(views.fabric_statement(statement), 200)
        return _json(views.livy_statement(statement), 201)

    async def list_statements(self, request: Request) -> Response:
        fabric = _is_fabric(request.url.path)
        if fabric:
            self._fabric_ids(request)
        session = self._session(request)
        statements = list(self._repl(request, session).statements.values())
        render = views.fabric_statement if fabric else views.livy_statement
        return _json({"total_statements": len(statements), "statements": [render(s) for s in statements]})

    async def get_statement(self, request: Request) -> Response:
        fabric = _is_fabric(request.url.path)
        if fabric:
            self._fabric_ids(request)
        session = self._session(request)
        statement = self.registry.statement(self._repl(request, session), _path_int(request, "statement"))
        if fabric:
            return _json(views.fabric_statement(statement, _int_param(request, "from"), _int_param(request, "size")))
        return _json(views.livy_statement(statement))

    async def cancel_statement(self, request: Request) -> Response:
        if _is_fabric(request.url.path):
            self._fabric_ids(request)
        session = self._session(request)
        repl = self._repl(request, session)
        statement = self.registry.statement(repl, _path_int(request, "statement"))
        self.registry.cancel(session, repl, statement)
        return _json({"msg": "canceled"})

    async def completion(self, request: Request) -> Response:
        session = self._session(request)
        body = completion_request(parse_json(await request.body(), required=True))
        future = self.registry.complete(session, self._repl(request, session), body["code"], body["cursor"])
        try:
            candidates = await asyncio.wait_for(asyncio.wrap_future(future), COMPLETION_TIMEOUT)
        except TimeoutError:
            candidates = []
        return _json({"candidates": candidates})

    # -- high concurrency (Fabric only) -----------------------------------------------------
    async def create_hc(self, request: Request) -> Response:
        ws, lh = self._fabric_ids(request)
        spec = session_request(parse_json(await request.body(), required=False), livy=False)
        hc = await asyncio.to_thread(self.registry.create_hc, spec, spec.get("sessionTag"))
        return _json(views.fabric_hc_session(hc, ws, lh), 202)

    async def get_hc(self, request: Request) -> Response:
        ws, lh = self._fabric_ids(request)
        return _json(views.fabric_hc_session(self.registry.get_hc(request.path_params["hc"]), ws, lh))

    async def delete_hc(self, request: Request) -> Response:
        self._fabric_ids(request)
        self.registry.delete_hc(self.registry.get_hc(request.path_params["hc"]))
        return _json({"msg": "deleted"})

    # -- routing ----------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        s = "/sessions/{session}"
        st = s + "/statements"
        hc_st = "/highConcurrencySessions/{session}/repls/{repl}/statements"
        livy = [
            Route("/version", self.version, methods=["GET"]),
            Route("/sessions", self.list_sessions, methods=["GET"]),
            Route("/sessions", self.create_session, methods=["POST"]),
            Route(s, self.get_session, methods=["GET"]),
            Route(s, self.delete_session, methods=["DELETE"]),
            Route(s + "/state", self.session_state, methods=["GET"]),
            Route(s + "/log", self.session_log, methods=["GET"]),
            Route(s + "/completion", self.completion, methods=["POST"]),
        ]
        shared = [
            Route(st, self.list_statements, methods=["GET"]),
            Route(st, self.create_statement, methods=["POST"]),
            Route(st + "/{statement}", self.get_statement, methods=["GET"]),
            Route(st + "/{statement}/cancel", self.cancel_statement, methods=["POST"]),
        ]
        p = FABRIC_PREFIX
        fabric = [
            Route(p + "/sessions", self.list_sessions, methods=["GET"]),
            Route(p + "/sessions", self.create_session, methods=["POST"]),
            Route(p + s, self.get_session, methods=["GET"]),
            Route(p + s, self.delete_session, methods=["DELETE"]),
            Route(p + s + "/reset-timeout", self.reset_timeout, methods=["POST"]),
            *[Route(p + r.path, r.endpoint, methods=list(r.methods or ())) for r in shared],
            Route(p + "/highConcurrencySessions", self.create_hc, methods=["POST"]),
            Route(p + "/highConcurrencySessions/{hc}", self.get_hc, methods=["GET"]),
            Route(p + "/highConcurrencySessions/{hc}", self.delete_hc, methods=["DELETE"]),
            Route(p + hc_st, self.list_statements, methods=["GET"]),
            Route(p + hc_st, self.create_statement, methods=["POST"]),
            Route(p + hc_st + "/{statement}", self.get_statement, methods=["GET"]),
            Route(p + hc_st + "/{statement}/cancel", self.cancel_statement, methods=["POST"]),
        ]
        return livy + shared + fabric


def _error_body(request: Request, status: int, message: str, code: str) -> Response:
    if _is_fabric(request.url.path):
        rid = request.scope.get("state", {}).get("request_id", "")
        return _json({"errorCode": code, "message": message, "requestId": rid}, status)
    return _json({"msg": message}, status)


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
    return _error_body(request, 500, f"Internal server error ({type(exc).__name__}); see the server log.", "InternalError")


class GuardMiddleware:
    """Bearer-token check (constant time) and Fabric's request-id headers, as plain ASGI."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self._token = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fabric = _is_fabric(scope["path"])
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        if self._token is not None:
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._token):
                message = "Missing or wrong bearer token: send 'Authorization: Bearer <token>' with the server's --token."
                body = {"errorCode": "Unauthorized", "message": message, "requestId": request_id} if fabric else {"msg": message}
                headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
                if fabric:
                    headers += [(b"x-ms-request-id", request_id.encode()), (b"requestid", request_id.encode())]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": json.dumps(body).encode()})
                return
        if not fabric:
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-ms-request-id", request_id.encode()), (b"requestid", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def build_app(registry: Registry, token: str | None = None) -> ASGIApp:
    """The server app over ``registry``; with ``token`` every request needs that bearer token."""
    handlers = LivyApp(registry)
    from fabric_livy_magics.server.batch_routes import batch_routes
    from fabric_livy_magics.server.batches import BatchRegistry

    batches = BatchRegistry(registry.config)  # spark-submit jobs; stopped with the sessions
    registry.on_shutdown.append(batches.shutdown)
    app = Starlette(
        routes=handlers.routes() + batch_routes(batches),
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _internal_error},
    )
    return GuardMiddleware(app, token)
