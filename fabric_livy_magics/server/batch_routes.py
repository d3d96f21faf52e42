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

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fabric_livy_magics.server import views
from fabric_livy_magics.server.batches import Batch, BatchRegistry
from fabric_livy_magics.server.bodies import batch_request, parse_json
from fabric_livy_magics.server.routing import (
    fabric_ids,
    json_response,
    list_page,
    log_page,
    shape_routes,
)

__all__ = ["batch_routes"]


class BatchHandlers:
    """Route handlers for both shapes; ``fabric_ids`` tells which answer to build."""

    def __init__(self, registry: BatchRegistry) -> None:
        self.registry = registry

    @staticmethod
    def _render(request: Request, batch: Batch, status: int = 200) -> Response:
        ids = fabric_ids(request)
        return json_response(views.fabric_batch(batch, *ids) if ids else views.livy_batch(batch), status)

    async def create(self, request: Request) -> Response:
        ids = fabric_ids(request)
        spec = batch_request(parse_json(await request.body(), required=True), livy=ids is None)
        batch = await asyncio.to_thread(self.registry.create, spec)
        return self._render(request, batch, 202 if ids else 201)

    async def list(self, request: Request) -> Response:
        return list_page(request, self.registry.list(), views.livy_batch, views.fabric_batch_activity)

    async def get(self, request: Request) -> Response:
        return self._render(request, self.registry.get(request.path_params["batch"]))

    async def state(self, request: Request) -> Response:
        batch = self.registry.get(request.path_params["batch"])
        return json_response({"id": batch.id, "state": batch.state})

    async def log(self, request: Request) -> Response:
        batch = self.registry.get(request.path_params["batch"])
        return log_page(request, batch.id, list(batch.log))

    async def delete(self, request: Request) -> Response:
        fabric_ids(request)
        batch = self.registry.get(request.path_params["batch"])
        await asyncio.to_thread(self.registry.cancel, batch)
        return json_response({"msg": "deleted"})


def batch_routes(registry: BatchRegistry) -> list[Route]:
    """Routes for both shapes; add them to the app next to the session routes."""
    h = BatchHandlers(registry)
    b = "/batches/{batch}"
    return shape_routes(
        both=[("GET", "/batches", h.list), ("POST", "/batches", h.create), ("GET", b, h.get), ("DELETE", b, h.delete)],
        livy_only=[("GET", b + "/state", h.state), ("GET", b + "/log", h.log)],
    )
