"""JSON answers of both URL shapes, built from the registry's objects.

Livy shape: Livy's field names (``SessionServlet``/``InteractiveSession``); Fabric shape: the
``SessionResponse``/``StatementResponse``/``HighConcurrencySessionResponse`` definitions of
Fabric's Livy API swagger.
"""

from __future__ import annotations

from typing import Any

from fabric_livy_magics.server.sessions import HCSession, Session, Statement

__all__ = ["fabric_hc_session", "fabric_session", "fabric_statement", "livy_session", "livy_statement"]

SESSION_LOG_TAIL = 100
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
        "log": list(session.log)[-SESSION_LOG_TAIL:],
    }


def fabric_session(session: Session, workspace: str, lakehouse: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": session.guid,
        "name": session.name,
        "appId": session.app_id,
        "appInfo": {"driverLogUrl": None, "sparkUiUrl": session.spark_ui_url},
        "artifactId": lakehouse,
        "jobType": "SparkSession",
        "submitterId": None,
        "submitterName": session.proxy_user,
        "log": list(session.log)[-SESSION_LOG_TAIL:],
        "state": session.state,
        "tags": session.tags,
        "livyInfo": {
            **{f"{_camel(state)}At": at for state, at in session.state_times.items()},
            "currentState": session.state,
            "jobCreationRequest": {k: v for k, v in session.request.items() if k != "ttl_seconds" and v is not None},
        },
        "errorInfo": [],
        "result": _RESULTS.get(session.state, "Uncertain"),
    }
    info_state = _FABRIC_STATE_INFO.get(session.state)
    if info_state:
        answer["fabricSessionStateInfo"] = {"state": info_state, "errorMessage": session.error_message}
    if session.error_message and session.state in ("dead", "error"):
        answer["errorInfo"] = [{"message": session.error_message, "errorCode": "SessionFailed", "source": "System"}]
    return answer


def _camel(state: str) -> str:
    head, *rest = state.split("_")
    return head + "".join(part.title() for part in rest)


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
