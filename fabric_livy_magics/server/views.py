"""JSON answers of both URL shapes, built from the registry's objects.

Livy shape: Livy's field names (``SessionServlet``/``InteractiveSession``, ``BatchSessionServlet``);
Fabric shape: the ``SessionResponse``/``StatementResponse``/``HighConcurrencySessionResponse`` and
``BatchResponse``/``LivySparkActivity`` definitions of Fabric's Livy API swagger.
"""

from __future__ import annotations

from typing import Any

from fabric_livy_magics.server.batches import Batch
from fabric_livy_magics.server.high_concurrency import HCSession
from fabric_livy_magics.server.lifecycle import Tracked
from fabric_livy_magics.server.sessions import Session, Statement

__all__ = [
    "fabric_batch", "fabric_batch_activity", "fabric_hc_session", "fabric_session", "fabric_statement",
    "livy_batch", "livy_session", "livy_statement",
]  # fmt: skip

LOG_TAIL = 100  # log lines in a session or batch answer (``/log`` pages the rest)
_FABRIC_STATE_INFO = {"not_started": "queued", "starting": "acquiringSession", "error": "error", "killed": "cancelled"}
_HC_STATES = {
    "not_started": "NotStarted",
    "starting": "AcquiringHighConcurrencySession",
    "idle": "Idle",
    "busy": "Idle",
    "shutting_down": "Deleting",
    "dead": "Dead",
    "killed": "Killed",
    "error": "Failed",
}
_RESULTS = {"killed": "Cancelled", "dead": "Failed", "error": "Failed", "success": "Succeeded"}
_BATCH_STATE_INFO = {"not_started": "queued", "starting": "submitting", "killed": "cancelled", "dead": "error", "error": "error"}
_SCHEDULER = {"not_started": "Queued", "starting": "Scheduled", "running": "Scheduled"}


def livy_session(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "name": session.name,
        "appId": session.app_id,
        "owner": session.owner,
        "proxyUser": session.proxy_user,
        "state": session.state,
        "kind": session.kind or "shared",
        "appInfo": {"driverLogUrl": None, "sparkUiUrl": session.spark_ui_url},
        "log": list(session.log)[-LOG_TAIL:],
    }


def _fabric_job(item: Session | Batch, job_type: str, lakehouse: str, ui_url: str | None, submitter: str | None) -> dict[str, Any]:
    """The fields Fabric's ``SessionResponse`` and ``BatchResponse`` share."""
    return {
        "id": item.guid,
        "name": item.name,
        "appId": item.app_id,
        "appInfo": {"driverLogUrl": None, "sparkUiUrl": ui_url},
        "artifactId": lakehouse,
        "jobType": job_type,
        "submitterId": None,
        "submitterName": submitter,
        "log": list(item.log)[-LOG_TAIL:],
        "state": item.state,
        "tags": item.tags,
    }


def fabric_session(session: Session, workspace: str, lakehouse: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        **_fabric_job(session, "SparkSession", lakehouse, session.spark_ui_url, session.proxy_user),
        "livyInfo": _livy_info(session, {k: v for k, v in session.request.items() if k != "ttl_seconds" and v is not None}),
        "errorInfo": list(session.notices),  # e.g. why it did not start from the pool (warm_pool.py)
        "result": _RESULTS.get(session.state, "Uncertain"),
    }
    info_state = _FABRIC_STATE_INFO.get(session.state)
    if info_state:
        answer["fabricSessionStateInfo"] = {"state": info_state, "errorMessage": session.error_message}
    if session.error_message and session.state in ("dead", "error"):
        answer["errorInfo"].append({"message": session.error_message, "errorCode": "SessionFailed", "source": "System"})
    return answer


def _camel(state: str) -> str:
    head, *rest = state.split("_")
    return head + "".join(part.title() for part in rest)


def _livy_info(item: Tracked, request: dict[str, Any]) -> dict[str, Any]:
    """Fabric's ``livyInfo``: when each state was entered (``startingAt``, ...), the request."""
    return {
        **{f"{_camel(state)}At": at for state, at in item.state_times.items()},
        "currentState": item.state,
        "jobCreationRequest": request,
    }


def livy_statement(statement: Statement) -> dict[str, Any]:
    return {
        "id": statement.id,
        "code": statement.code,
        "state": statement.state,
        "output": statement.output,
        "progress": statement.progress,
        "started": statement.started,
        "completed": statement.completed,
    }


def fabric_statement(statement: Statement, start: int | None = None, size: int | None = None) -> dict[str, Any]:
    """Fabric's statement; ``from``/``size`` page the ``text/plain`` output (character offsets)."""
    answer = livy_statement(statement)
    answer["sourceId"] = statement.source_id
    output = statement.output
    if output is not None and (start is not None or size is not None):
        data = dict(output.get("data") or {})
        text = data.get("text/plain")
        if isinstance(text, str):
            begin = start or 0
            end = len(text) if size is None else begin + size
            data["text/plain"] = text[begin:end]
            answer["output"] = {**output, "data": data}
            answer["outputTotalLength"] = len(text)
    return answer


def fabric_hc_session(hc: HCSession, workspace: str, lakehouse: str) -> dict[str, Any]:
    session = hc.session
    state = "Deleting" if hc.deleting else _HC_STATES.get(session.state, "Failed")
    answer: dict[str, Any] = {
        "id": hc.id,
        "state": state,
        "sessionId": session.guid,
        "workspaceId": workspace,
        "artifactId": lakehouse,
        "creatorId": None,
        "createdAt": hc.created,
        "replId": hc.repl_id if state == "Idle" else None,
        "sessionTag": hc.tag,
    }
    info_state = _FABRIC_STATE_INFO.get(session.state)
    if info_state:
        answer["fabricSessionStateInfo"] = {"state": info_state, "errorMessage": session.error_message}
    return answer


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


def fabric_batch(batch: Batch, workspace: str, lakehouse: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        **_fabric_job(batch, "SparkBatch", lakehouse, None, batch.request.get("proxyUser")),
        "result": _RESULTS.get(batch.state, "Uncertain"),
        "livyInfo": _livy_info(batch, {k: v for k, v in batch.request.items() if k != "tags"}),
        "schedulerInfo": {"submittedAt": batch.submitted_at, "currentState": _SCHEDULER.get(batch.state, "Ended")},
        "errorInfo": [],
    }
    info = _BATCH_STATE_INFO.get(batch.state)
    if info:
        answer["fabricBatchStateInfo"] = {"state": info, "errorMessage": batch.error_message if info == "error" else None}
    if batch.state in ("dead", "error") and batch.error_message:
        answer["errorInfo"] = [{"message": batch.error_message, "errorCode": "SparkJobFailed", "source": "User"}]
    if batch.cancellation_reason:
        answer["cancellationReason"] = batch.cancellation_reason
    return answer


def fabric_batch_activity(batch: Batch, workspace: str, lakehouse: str) -> dict[str, Any]:
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
