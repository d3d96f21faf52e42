"""A small HTTP helper for driving the local server in tests."""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

import requests

TIMEOUT = 10
SESSION_START_TIMEOUT = 180
STATEMENT_TIMEOUT = 120
DONE = {"available", "error", "cancelled"}
WORKSPACE = "0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
LAKEHOUSE = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"


class Api:
    """Plain requests against one base URL, with a timeout on every call."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.http = requests.Session()
        self.http.headers["X-Requested-By"] = "tests"
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.base + path, timeout=TIMEOUT, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)

    def wait(
        self, path: str, states: Collection[str], timeout: float, *, passing: Collection[str] | None = None, interval: float = 0.05
    ) -> dict[str, Any]:
        """GET ``path`` until its ``state`` is one of ``states``; fail on a timeout or a state not in ``passing``."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.get(path)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            if body["state"] in states:
                return body
            assert passing is None or body["state"] in passing, body
            assert time.monotonic() < deadline, f"{path} still {body['state']} after {timeout} s"
            time.sleep(interval)

    def wait_session(self, session: str | int, states: set[str], timeout: float = SESSION_START_TIMEOUT) -> dict[str, Any]:
        return self.wait(f"/sessions/{session}", states, timeout, interval=0.1)

    def wait_statement(self, path: str, timeout: float = STATEMENT_TIMEOUT) -> dict[str, Any]:
        return self.wait(path, DONE, timeout)

    def run(self, session: str | int, code: str, kind: str | None = None, repl: str = "") -> dict[str, Any]:
        """Post a statement and wait for its final state."""
        body: dict[str, Any] = {"code": code}
        if kind:
            body["kind"] = kind
        base = f"/sessions/{session}" if not repl else repl
        answer = self.post(f"{base}/statements", json=body)
        assert answer.status_code in (200, 201), answer.text
        return self.wait_statement(f"{base}/statements/{answer.json()['id']}")
