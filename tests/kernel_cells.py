"""Running cells in a real kernel (jupyter_client), as a frontend does, for the tests that start one."""

from __future__ import annotations

import time
from typing import Any


def execute(client: Any, code: str, timeout: float = 300, *, results: bool = False) -> dict[str, Any]:
    """Run one cell and wait until the kernel is idle again.

    Returns the execute reply's content plus ``text`` (what the cell streamed; with ``results``
    also its ``Out[]`` as text) and ``errors`` (the error messages it showed, traceback included).
    """
    msg_id = client.execute(code)
    streamed: list[str] = []
    errors: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        message = client.get_iopub_msg(timeout=max(1.0, deadline - time.monotonic()))
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            streamed.append(content["text"])
        elif kind == "error":
            errors.append(content)
        elif kind == "execute_result" and results:
            streamed.append(content["data"].get("text/plain", ""))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = client.get_shell_msg(timeout=60)["content"]
    return {**reply, "text": "".join(streamed), "errors": errors}


def shown(reply: dict[str, Any]) -> str:
    """What a person saw of the cell: its text, then its tracebacks (for assertion messages)."""
    return "\n".join([reply["text"], *("\n".join(e.get("traceback", [])) for e in reply["errors"])])
