"""Fabric's Spark monitoring routes on the local server, over real Spark and the server's records.

``/v1/workspaces/{ws}/lakehouses/{lh}/livySessions[/{livyId}[/applications/{appId}[/{attempt}]/...]]``:

* the list and one run come from the session and batch registries; deleted sessions are kept
  (as Fabric keeps finished runs), in the ``LivySession`` shape of Fabric's REST reference;
* ``jobs``, ``stages``, ``executors``, ``sql``... are forwarded to the session's own Spark UI
  (``{sparkUiUrl}/api/v1/applications/{appId}/...``, the API Fabric's routes copy), so the answers
  are real Spark's. A session started with ``spark.ui.enabled=false`` (the server's default) has
  no UI to ask: the answer says how to turn it on;
* ``logs?type=driver`` is the session process's output as the server captured it (stdout and
  stderr together, served as ``stderr``), ``type=executor`` the same (in ``local[N]`` executors
  run inside the driver), ``type=livy`` the server's own record of the run; ``meta=true`` gives
  the size, ``isDownload=true&isPartial=true&offset=&size=`` pages by bytes;
* ``advices`` is an empty list (no advisor runs here); ``resourceUsage`` one point from the
  executors' cores and running tasks.

No Livy-shaped equivalent: Apache Livy has none, and its ``/log`` route already serves the log.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as _dt
import json
import time
import urllib.error
import urllib.request
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fabric_livy_magics.server.batches import Batch, BatchRegistry
from fabric_livy_magics.server.errors import ApiError
from fabric_livy_magics.server.ids import parse_int_id, shown_ref
from fabric_livy_magics.server.lifecycle import Tracked
from fabric_livy_magics.server.routing import int_param, json_response
from fabric_livy_magics.server.sessions import Registry, Session

__all__ = ["monitoring_routes"]

PREFIX = "/v1/workspaces/{ws}/lakehouses/{lh}/livySessions"
PAGE_SIZE = 50
KEEP_DELETED = 1000
SPARK_TIMEOUT = 10.0
DEFAULT_LOG_BYTES = 1024 * 1024
_RUN_STATES = {"not_started": "NotStarted", "starting": "NotStarted", "idle": "InProgress", "busy": "InProgress",
               "running": "InProgress", "shutting_down": "InProgress", "success": "Succeeded", "dead": "Failed",
               "error": "Failed", "killed": "Cancelled"}
_ENDED = ("success", "dead", "error", "killed")


def _parse_time(text: str | None) -> _dt.datetime | None:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _duration(begin: str | None, end: str | None) -> dict[str, Any] | None:
    start, stop = _parse_time(begin), _parse_time(end) or (None if not begin else _dt.datetime.now(_dt.UTC))
    if start is None or stop is None:
        return None
    return {"value": round((stop - start).total_seconds(), 3), "timeUnit": "Seconds"}


class Monitoring:
    """Route handlers; ``deleted`` keeps the sessions the registry has forgotten."""

    def __init__(self, registry: Registry, batches: BatchRegistry) -> None:
        self.registry = registry
        self.batches = batches
        self.deleted: collections.deque[Session] = collections.deque(maxlen=KEEP_DELETED)
        registry.on_delete.append(self.deleted.append)  # called under the registry's lock

    # -- records ----------------------------------------------------------------------------
    def _items(self) -> list[Session | Batch]:
        with self.registry.lock:
            items: list[Session | Batch] = [*self.registry.list(), *self.deleted]
        items += self.batches.list()
        return sorted(items, key=lambda item: item.state_times.get("not_started", ""), reverse=True)

    def _find(self, livy_id: str) -> Session | Batch:
        ref = livy_id.strip().lower()
        for item in self._items():
            if item.guid == ref:
                return item
        raise ApiError(404, f"Livy session '{shown_ref(livy_id)}' not found in this lakehouse.", "SparkCoreSessionNotFound")

    def _run(self, item: Session | Batch, ws: str, lh: str) -> dict[str, Any]:
        times = item.state_times
        submitted = times.get("not_started")
        started = times.get("starting") if isinstance(item, Session) else times.get("running")
        ended = times.get(item.state) if item.state in _ENDED else None
        return {
            "sparkApplicationId": item.app_id, "state": _RUN_STATES.get(item.state, "Unknown"), "livyId": item.guid,
            "origin": "SubmittedJob", "attemptNumber": 1, "maxNumberOfAttempts": 1, "livyName": item.name,
            "submitter": {"id": None, "type": "User"},
            "item": {"workspaceId": ws, "itemId": lh, "referenceType": "ById"}, "itemType": "Lakehouse",
            "jobType": "SparkBatch" if isinstance(item, Batch) else "SparkSession",
            "submittedDateTime": submitted, "startDateTime": started, "endDateTime": ended,
            "queuedDuration": _duration(submitted, started or ended),
            "runningDuration": _duration(started, ended) if started else None,
            "totalDuration": _duration(submitted, ended),
            "isHighConcurrency": bool(getattr(item, "hc_tag", None)),
            "cancellationReason": getattr(item, "cancellation_reason", None),
        }

    # -- runs -------------------------------------------------------------------------------
    async def list_runs(self, request: Request) -> Response:
        ws, lh = request.path_params["ws"], request.path_params["lh"]
        start = parse_int_id(request.query_params.get("continuationToken") or "0") or 0  # ours: an offset
        items = self._items()
        page = items[start : start + PAGE_SIZE]
        more = start + PAGE_SIZE < len(items)
        next_token = str(start + PAGE_SIZE) if more else None
        uri = str(request.url.include_query_params(continuationToken=next_token)) if more else None
        return json_response({"continuationToken": next_token, "continuationUri": uri,
                              "value": [self._run(item, ws, lh) for item in page]})

    async def get_run(self, request: Request) -> Response:
        item = self._find(request.path_params["livy"])
        return json_response(self._run(item, request.path_params["ws"], request.path_params["lh"]))

    # -- one application --------------------------------------------------------------------
    async def application(self, request: Request) -> Response:
        item = self._find(request.path_params["livy"])
        app_id = request.path_params["app"]
        parts = [part for part in request.path_params["rest"].split("/") if part]
        if parts and parts[0].isdigit():
            parts = parts[1:]  # an attempt id: a local application has exactly one attempt
        if parts == ["logs"]:
            return self._logs(request, item, app_id)
        if isinstance(item, Batch):
            raise ApiError(404, "The local server keeps no Spark metrics for batch jobs: their Spark UI ends with "
                           "them. Read their driver log instead.", "SparkAppNotFound")
        self._check_app(item, app_id)
        if parts[:1] == ["advices"]:
            return json_response([])
        if parts == ["resourceUsage"]:
            executors = json.loads(await asyncio.to_thread(self._spark, item, app_id, "executors", ""))
            return json_response(_resource_usage(executors))
        body = await asyncio.to_thread(self._spark, item, app_id, "/".join(parts), request.url.query)
        return Response(body, media_type="application/json")

    def _check_app(self, item: Session | Batch, app_id: str) -> None:
        if item.app_id is None:
            raise ApiError(404, f"Livy session {item.guid} has no Spark application yet ({item.state}).", "SparkAppNotFound")
        if app_id != item.app_id:
            raise ApiError(404, f"Application '{shown_ref(app_id)}' is not the application of Livy session {item.guid} "
                           f"({item.app_id}).", "SparkAppNotFound")

    def _spark(self, item: Session, app_id: str, path: str, query: str) -> bytes:
        """Spark's own REST answer for ``path`` of the session's application (blocking)."""
        if item.spark_ui_url is None:
            state = "has ended" if item.ended or item.state == "shutting_down" else "runs without a Spark UI"
            raise ApiError(404, f"Session {item.guid} {state}, so there are no Spark metrics to read. Start sessions "
                           "with conf spark.ui.enabled=true (or the server with --spark-conf spark.ui.enabled=true).",
                           "SparkUiDisabled")
        url = f"{item.spark_ui_url.rstrip('/')}/api/v1/applications/{app_id}/{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=SPARK_TIMEOUT) as answer:  # noqa: S310 - Spark's own UI
                return bytes(answer.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace").strip()
            raise ApiError(404 if exc.code == 404 else 502, f"Spark answered {exc.code} for {shown_ref(path, 80)}: "
                           f"{shown_ref(detail, 200)}", "SparkAppNotFound" if exc.code == 404 else "SparkError") from None
        except (urllib.error.URLError, OSError) as exc:
            if item.ended or item.state == "shutting_down":
                raise ApiError(404, f"Session {item.guid} has ended: its Spark metrics ended with it.",
                               "SparkAppNotFound") from None
            raise ApiError(503, f"The Spark UI of session {item.guid} did not answer ({exc}).", "SparkUnavailable") from None

    # -- logs -------------------------------------------------------------------------------
    def _logs(self, request: Request, item: Session | Batch, app_id: str) -> Response:
        params = request.query_params
        kind = params.get("type", "")
        if kind not in ("livy", "driver", "executor"):
            raise ApiError(400, f"Unknown log type '{shown_ref(kind)}': use livy, driver or executor.", "InvalidParameter")
        if kind != "livy" and not (item.app_id is None and app_id == "none"):  # a batch's id may be unknown
            self._check_app(item, app_id)
        name = "livy.log" if kind == "livy" else params.get("fileName", "stderr" if kind == "executor" else "")
        container = params.get("containerId")
        if kind != "livy":
            if name not in ("stderr", "stdout"):
                raise ApiError(400 if not name else 404, "fileName must be stderr or stdout." if not name else
                               f"No log file '{shown_ref(name)}': the driver's files are stderr and stdout.",
                               "InvalidParameter" if not name else "LogNotFound")
            if container not in (None, "driver"):
                raise ApiError(404, f"No container '{shown_ref(container)}': in local mode the executors run in "
                               "the driver's container, 'driver'.", "LogNotFound")
        content = self._log_content(item, kind, name, params.get("meta") == "true")
        if params.get("meta") == "true":
            meta = {"fileName": name, "length": len(content), "lastModified": _http_now(),
                    "creationTime": item.state_times.get("not_started"), "metaData": {}}
            if kind == "livy":
                return json_response(meta)
            container_meta = {"containerId": "driver", "nodeId": "localhost", "containerLogMeta": meta}
            return json_response([{**container_meta, "containerLogMeta": [meta]}] if kind == "executor" else container_meta)
        if params.get("isPartial") == "true":
            offset = int_param(request, "offset", 0)
            size = int_param(request, "size", DEFAULT_LOG_BYTES)
            content = content[offset : offset + size]
        return Response(content, media_type="text/plain; charset=utf-8")

    def _log_content(self, item: Session | Batch, kind: str, name: str, meta: bool) -> bytes:
        if kind == "livy":
            return "".join(f"{line}\n" for line in _livy_log(item)).encode()
        if name == "stdout":
            raise ApiError(404, "The local server keeps the driver's stdout and stderr together: read fileName=stderr.",
                           "LogNotFound")
        with self.registry.lock:
            lines = list(item.log)
        return "".join(f"{line}\n" for line in lines).encode()


def _livy_log(item: Tracked) -> list[str]:
    """The server's own record of a run: each state change with its time, then any error."""
    kind = "batch" if isinstance(item, Batch) else "session"
    lines = [f"{at} INFO {kind} {getattr(item, 'guid', '')} is {state}"
             for state, at in sorted(item.state_times.items(), key=lambda pair: pair[1])]
    if item.error_message:
        lines.append(f"{item.state_times.get(item.state, '')} ERROR {item.error_message}")
    return lines


def _http_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000GMT", time.gmtime())


def _resource_usage(executors: list[dict[str, Any]]) -> dict[str, Any]:
    """One point of Fabric's ``ResourceUsageInfo`` from Spark's executor summaries."""
    cores = float(sum(e.get("totalCores", 0) for e in executors if e.get("isActive", True)))
    running = float(min(cores, sum(e.get("activeTasks", 0) for e in executors)))
    return {"resourceUsageApiVersion": 2, "duration": None, "capacityExceeded": False, "idleTime": None,
            "coreEfficiency": running / cores if cores else None,
            "data": {"timestamps": [int(time.time() * 1000)], "isPartials": [False], "allocatedCores": [cores],
                     "idleCores": [cores - running], "runningCores": [running], "executors": [], "jobs": [],
                     "executorJobs": []}}


def monitoring_routes(registry: Registry, batches: BatchRegistry) -> list[Route]:
    """The monitoring routes; add them to the app next to the Livy API's."""
    handlers = Monitoring(registry, batches)
    run = PREFIX + "/{livy}"
    return [
        Route(PREFIX, handlers.list_runs, methods=["GET"]),
        Route(run, handlers.get_run, methods=["GET"]),
        Route(run + "/applications/{app}/{rest:path}", handlers.application, methods=["GET"]),
    ]
