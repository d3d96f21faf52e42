"""What every route of both URL shapes shares: the route table, JSON answers, query parameters.

A resource is declared once with its Livy-shaped path; ``shape_routes`` also mounts it under
Fabric's prefix ``/v1/workspaces/{ws}/lakehouses/{lh}/{api}/versions/{version}`` (``api`` is
``livyApi``, any case). Handlers tell the shapes apart with ``fabric_ids``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, overload

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fabric_livy_magics.server.errors import ApiError
from fabric_livy_magics.server.ids import MAX_ID, parse_int_id, shown_ref

__all__ = [
    "FABRIC_PREFIX", "Handler", "fabric_ids", "int_param", "is_fabric", "json_response", "list_page", "log_page",
    "shape_routes",
]  # fmt: skip

FABRIC_PREFIX = "/v1/workspaces/{ws}/lakehouses/{lh}/{api}/versions/{version}"
LIVY_PAGE_SIZE = 100
Handler = Callable[[Request], Awaitable[Response]]
RouteSpec = tuple[str, str, Handler]  # (method, Livy-shaped path, handler)


def shape_routes(
    *, both: Sequence[RouteSpec] = (), livy_only: Sequence[RouteSpec] = (), fabric_only: Sequence[RouteSpec] = ()
) -> list[Route]:
    """Routes for each ``(method, path, handler)``: Livy-shaped, Fabric-shaped or both."""
    livy = [Route(path, handler, methods=[method]) for method, path, handler in (*livy_only, *both)]
    fabric = [Route(FABRIC_PREFIX + path, handler, methods=[method]) for method, path, handler in (*both, *fabric_only)]
    return livy + fabric


def is_fabric(path: str) -> bool:
    return path.startswith("/v1/")


def fabric_ids(request: Request) -> tuple[str, str] | None:
    """``(workspace, lakehouse)`` of a Fabric-shaped request; None in the Livy shape."""
    if "ws" not in request.path_params:
        return None
    if request.path_params["api"].lower() != "livyapi":
        raise ApiError(404, f"No such API '{shown_ref(request.path_params['api'])}': use livyApi.", "NotFound")
    return request.path_params["ws"], request.path_params["lh"]


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str), status_code=status, media_type="application/json")


@overload
def int_param(request: Request, name: str, default: int) -> int: ...
@overload
def int_param(request: Request, name: str, default: None = None) -> int | None: ...
def int_param(request: Request, name: str, default: int | None = None) -> int | None:
    """A non-negative integer query parameter; 400 when it is not one."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if raw.strip().startswith("-") and parse_int_id(raw.strip()[1:]) is not None:
        raise ApiError(400, f"Query parameter '{name}' must not be negative.", "InvalidParameter")
    value = parse_int_id(raw.strip())
    if value is None:
        raise ApiError(400, f"Query parameter '{name}' must be a whole number from 0 to {MAX_ID}, got "
                       f"'{shown_ref(raw)}'.", "InvalidParameter")
    return value


def list_page(
    request: Request,
    items: Sequence[Any],
    livy_item: Callable[[Any], dict[str, Any]],
    fabric_item: Callable[[Any, str, str], dict[str, Any]],
) -> Response:
    """A listing: Livy's ``{from, total, sessions}`` (``from``/``size``) or Fabric's ``{items, pageSize}``
    (``$skip``/``$top``, and ``totalCountOfMatchedItems`` with ``$count=true``)."""
    ids = fabric_ids(request)
    if ids:
        skip = int_param(request, "$skip", 0)
        top = int_param(request, "$top")
        page = items[skip:] if top is None else items[skip : skip + top]
        answer: dict[str, Any] = {"items": [fabric_item(item, *ids) for item in page]}
        if request.query_params.get("$count", "").lower() == "true":
            answer["totalCountOfMatchedItems"] = len(items)
        answer["pageSize"] = len(page)
        return json_response(answer)
    start = int_param(request, "from", 0)
    size = int_param(request, "size", LIVY_PAGE_SIZE)
    page = items[start : start + size]
    return json_response({"from": start, "total": len(items), "sessions": [livy_item(item) for item in page]})


def log_page(request: Request, ident: int, lines: Sequence[str]) -> Response:
    """Livy's ``/log`` answer: ``size`` lines from ``from`` (default: the last ``size``)."""
    size = int_param(request, "size", LIVY_PAGE_SIZE)
    start = int_param(request, "from")
    start = max(0, len(lines) - size) if start is None else start
    return json_response({"id": ident, "from": start, "total": len(lines), "log": list(lines[start : start + size])})
