"""``/batches`` routes in both URL shapes, over a :class:`BatchRegistry`.

Livy shape (Apache Livy's ``BatchSessionServlet``): ``POST /batches`` → 201, ``GET /batches?from=&size=``
→ ``{from, total, sessions}``, ``GET /batches/{id}``, ``/batches/{id}/state`` → ``{id, state}``,
``/batches/{id}/log?from=&size=`` → ``{id, from, total, log}``, ``DELETE`` → ``{"msg": "deleted"}``.

Fabric shape (``BatchRequest``/``BatchResponse``/``LivySparkActivityList`` of Fabric's Livy API
swagger): ``.../livyApi/versions/{v}/batches`` → 202, GUID ids, ``$top``/``$skip``/``$count``,
``fabricBatchStateInfo``, ``result``, ``errorInfo``. Ids of either kind are accepted in both shapes.
Errors are raised as ``ApiError`` and rendered by the app's handler in the caller's shape.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fabric_livy_magics.server.batches import Batch, BatchRegistry
from fabric_livy_magics.server.bodies import parse_json
from fabric_livy_magics.server.errors import ApiError

__all__ = ["batch_request", "batch_routes", "fabric_batch", "livy_batch"]

FABRIC_PREFIX = "/v1/workspaces/{ws}/lakehouses/{lh}/{api}/versions/{version}"
LOG_TAIL = 100

_STR = ("file", "proxyUser", "className", "driverMemory", "executorMemory", "queue", "name")
_INT = ("driverCores", "executorCores", "numExecutors")
_LISTS = ("args", "jars", "pyFiles", "files", "archives")
LIVY_FIELDS = frozenset({*_STR, *_INT, *_LISTS, "conf"})
FABRIC_FIELDS = frozenset({*LIVY_FIELDS, "tags"})
_RESULTS = {"success": "Succeeded", "dead": "Failed", "error": "Failed", "killed": "Cancelled"}
_FABRIC_STATE_INFO = {"not_started": "queued", "starting": "submitting", "killed": "cancelled", "dead": "error", "error": "error"}
_SCHEDULER = {"not_started": "Queued", "starting": "Scheduled", "running": "Scheduled"}


def batch_request(body: dict[str, Any], *, livy: bool) -> dict[str, Any]:
    """The checked request; Livy's shape refuses unknown fields (as Livy does), Fabric's ignores them."""
    allowed = LIVY_FIELDS if livy else FABRIC_FIELDS
    if livy:
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ApiError(400, f"Unrecognized field(s) {', '.join(map(repr, unknown))} in the batch request.", "InvalidRequest")
    spec: dict[str, Any] = {}
    for key, value in body.items():
        if key not in allowed or value is None:
            continue
        if key in _STR and not isinstance(value, str):
            raise ApiError(400, f"'{key}' must be a string, not {type(value).__name__}.", "InvalidRequest")
        if key in _INT and (isinstance(value, bool) or not isinstance(value, int)):
            raise ApiError(400, f"'{key}' must be an integer, not {type(value).__name__}.", "InvalidRequest")
        if key in _LISTS:
            if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
                raise ApiError(400, f"'{key}' must be a list of strings.", "InvalidRequest")
            value = [str(v) for v in value]
        if key in ("conf", "tags"):
            if not isinstance(value, dict) or not all(isinstance(v, (str, int, float, bool)) for v in value.values()):
                raise ApiError(400, f"'{key}' must be an object of string values.", "InvalidRequest")
            value = {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in value.items()}
        spec[key] = value
    if not spec.get("file", "").strip():
        raise ApiError(400, "'file' is required: the path of the .py or .jar file to run.", "InvalidRequest")
    return spec


def livy_batch(batch: Batch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "name": batch.name,
        "owner": None,
        "proxyUser": batch.request.get("proxyUser"),
        "state": batch.state,
        "appId": batch.app_id,
        "appInfo": {"driverLogUrl": None, "sparkUiUrl": None},
        "log": list(batch.log)[-LOG_TAIL:],
    }


def _camel(state: str) -> str:
    head, *rest = state.split("_")
    return head + "".join(part.title() for part in rest)


def fabric_batch(batch: Batch, workspace: str, lakehouse: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": batch.guid,
        "name": batch.name,
        "appId": batch.app_id,
        "appInfo": {"driverLogUrl": None, "sparkUiUrl": None},
        "artifactId": lakehouse,
        "jobType": "SparkBatch",
        "submitterId": None,
        "submitterName": batch.request.get("proxyUser"),
        "log": list(batch.log)[-LOG_TAIL:],
        "state": batch.state,
        "tags": batch.tags,
        "result": _RESULTS.get(batch.state, "Uncertain"),
        "livyInfo": {
            **{f"{_camel(state)}At": at for state, at in batch.state_times.items()},
            "currentState": batch.state,
            "jobCreationRequest": {k: v for k, v in batch.request.items() if k != "tags"},
        },
        "schedulerInfo": {"submittedAt": batch.submitted_at, "currentState": _SCHEDULER.get(batch.state, "Ended")},
        "errorInfo": [],
    }
    info = _FABRIC_STATE_INFO.get(batch.state)
    if info:
        answer["fabricBatchStateInfo"] = {"state": info, "errorMessage": batch.error_message if info == "error" else None}
    if batch.state in ("dead", "error") and batch.error_message:
        answer["errorInfo"] = [{"message": batch.error_message, "errorCode": "SparkJobFailed", "source": "User"}]
    if batch.cancellation_reason:
        answer["cancellationReason"] = batch.cancellation_reason
    return answer


def _fabric_list_item(batch: Batch, workspace: str, lakehouse: str) -> dict[str, Any]:
    """A ``LivySparkActivity`` (what Fabric lists), with ``state`` too for convenience."""
    ended = batch.state_times.get(batch.state) if batch.ended else None
    return {
        "id": batch.guid, "appId": batch.app_id, "name": batch.name, "workspaceId": workspace,
        "submitterId": None, "submitterName": batch.request.get("proxyUser"), "artifactId": lakehouse,
        "result": _RESULTS.get(batch.state, "Uncertain"), "submittedAt": batch.submitted_at,
        "startedAt": batch.state_times.get("running"), "endedAt": ended, "tags": batch.tags,
        "livyState": batch.state, "state": batch.state, "jobType": "SparkBatch",
        "cancellationReason": batch.cancellation_reason,
        "errorCode": "SparkJobFailed" if batch.state in ("dead", "error") else None,
    }


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str), status_code=status, media_type="application/json")


def _int_param(request: Request, name: str, default: int | None) -> int | None:
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


class BatchHandlers:
    """Route handlers for both shapes; ``fabric`` tells which answer to build."""

    def __init__(self, registry: BatchRegistry) -> None:
        self.registry = registry

    @staticmethod
    def _fabric(request: Request) -> tuple[str, str] | None:
        if "ws" not in request.path_params:
            return None
        if request.path_params["api"].lower() != "livyapi":
            raise ApiError(404, f"No such API '{request.path_params['api']}': use livyApi.", "NotFound")
        return request.path_params["ws"], request.path_params["lh"]

    def _render(self, request: Request, batch: Batch) -> dict[str, Any]:
        ids = self._fabric(request)
        return fabric_batch(batch, *ids) if ids else livy_batch(batch)

    async def create(self, request: Request) -> Response:
        ids = self._fabric(request)
        spec = batch_request(parse_json(await request.body(), required=True), livy=ids is None)
        batch = await asyncio.to_thread(self.registry.create, spec)
        return _json(self._render(request, batch), 202 if ids else 201)

    async def list(self, request: Request) -> Response:
        batches = self.registry.list()
        ids = self._fabric(request)
        if ids:
            skip = _int_param(request, "$skip", 0) or 0
            top = _int_param(request, "$top", None)
            page = batches[skip:] if top is None else batches[skip : skip + top]
            answer: dict[str, Any] = {"items": [_fabric_list_item(b, *ids) for b in page], "pageSize": len(page)}
            if request.query_params.get("$count", "").lower() == "true":
                answer["totalCountOfMatchedItems"] = len(batches)
            return _json(answer)
        start = _int_param(request, "from", 0) or 0
        size = _int_param(request, "size", 100)
        page = batches[start : start + (100 if size is None else size)]
        return _json({"from": start, "total": len(batches), "sessions": [livy_batch(b) for b in page]})

    async def get(self, request: Request) -> Response:
        return _json(self._render(request, self.registry.get(request.path_params["batch"])))

    async def state(self, request: Request) -> Response:
        batch = self.registry.get(request.path_params["batch"])
        return _json({"id": batch.id, "state": batch.state})

    async def log(self, request: Request) -> Response:
        batch = self.registry.get(request.path_params["batch"])
        lines = list(batch.log)
        size = _int_param(request, "size", 100)
        size = 100 if size is None else size
        start = _int_param(request, "from", None)
        start = max(0, len(lines) - size) if start is None else start
        return _json({"id": batch.id, "from": start, "total": len(lines), "log": lines[start : start + size]})

    async def delete(self, request: Request) -> Response:
        self._fabric(request)
        batch = self.registry.get(request.path_params["batch"])
        await asyncio.to_thread(self.registry.cancel, batch)
        return _json({"msg": "deleted"})


def batch_routes(registry: BatchRegistry) -> list[Route]:
    """Routes for both shapes; add them to the app next to the session routes."""
    h = BatchHandlers(registry)
    b = "/batches/{batch}"
    livy = [
        Route("/batches", h.list, methods=["GET"]),
        Route("/batches", h.create, methods=["POST"]),
        Route(b, h.get, methods=["GET"]),
        Route(b, h.delete, methods=["DELETE"]),
        Route(b + "/state", h.state, methods=["GET"]),
        Route(b + "/log", h.log, methods=["GET"]),
    ]
    p = FABRIC_PREFIX
    fabric = [
        Route(p + "/batches", h.list, methods=["GET"]),
        Route(p + "/batches", h.create, methods=["POST"]),
        Route(p + b, h.get, methods=["GET"]),
        Route(p + b, h.delete, methods=["DELETE"]),
    ]
    return livy + fabric
