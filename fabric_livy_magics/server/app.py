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
import sys
import traceback

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from fabric_livy_magics.server import views
from fabric_livy_magics.server.batch_routes import batch_routes
from fabric_livy_magics.server.batches import BatchRegistry
from fabric_livy_magics.server.bodies import (
    completion_request,
    parse_json,
    session_request,
    statement_request,
)
from fabric_livy_magics.server.errors import ApiError, error_payload
from fabric_livy_magics.server.guard import BODY_TIMEOUT_SECONDS, DEFAULT_MAX_BODY_BYTES, GuardMiddleware
from fabric_livy_magics.server.ids import parse_int_id, shown_ref
from fabric_livy_magics.server.high_concurrency import HighConcurrencySessions
from fabric_livy_magics.server.monitoring import monitoring_routes
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
from fabric_livy_magics.server.waiting import MAX_WAIT_MS, WAIT_HEADER, wait_for_change

__all__ = ["build_app"]

COMPLETION_TIMEOUT = 5.0


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fabric-livy-magics")
    except PackageNotFoundError:
        return "dev"


def _offers_wait(response: Response) -> Response:
    """Tell clients that statement GETs here take ``?wait=`` (``waiting.py``)."""
    response.headers[WAIT_HEADER] = str(MAX_WAIT_MS)
    return response


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
            return _offers_wait(json_response(views.fabric_statement(statement), 200))
        return _offers_wait(json_response(views.livy_statement(statement), 201))

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
        await wait_for_change(statement, int_param(request, "wait", 0))
        if fabric:
            answer = json_response(views.fabric_statement(statement, int_param(request, "from"), int_param(request, "size")))
        else:
            answer = json_response(views.livy_statement(statement))
        return _offers_wait(answer)

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


def _error_body(request: Request, status: int, message: str, code: str) -> Response:
    rid = request.scope.get("state", {}).get("request_id", "")
    return json_response(error_payload(is_fabric(request.url.path), message, code, rid), status)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_body(request, exc.status, exc.message, exc.error_code)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = shown_ref(request.url.path, 160)
    if exc.status_code == 404:
        return _error_body(request, 404, f"No such resource: {request.method} {path}.", "NotFound")
    if exc.status_code == 405:
        return _error_body(request, 405, f"Method {request.method} is not allowed on {path}.", "MethodNotAllowed")
    return _error_body(request, exc.status_code, str(exc.detail), "HttpError")


async def _internal_error(request: Request, exc: Exception) -> Response:
    path = shown_ref(request.url.path, 160)
    print(f"fabric-livy serve: internal error on {request.method} {path}", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
    message = f"The server failed on {request.method} {path}; its log has the details. Please report it."
    return _error_body(request, 500, message, "InternalError")


def build_app(registry: Registry, token: str | None = None, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
              body_timeout: float = BODY_TIMEOUT_SECONDS) -> ASGIApp:
    """The server app over ``registry`` behind its guard (``guard.py``); with ``token`` every request
    needs that bearer token."""
    handlers = LivyApp(registry)
    batches = BatchRegistry(registry.config, registry.workdirs)  # spark-submit jobs; stopped with the sessions
    registry.on_shutdown.append(batches.shutdown)
    app = Starlette(
        routes=handlers.routes() + batch_routes(batches) + monitoring_routes(registry, batches),
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _internal_error},
    )
    return GuardMiddleware(app, token, max_body_bytes=max_body_bytes, body_timeout=body_timeout)
