"""Mutated server answers against the real client: wrong types, missing fields, nulls, huge
strings, invalid JSON, deep nesting, non-finite and huge numbers, odd digits in ids, HTML pages,
wrong content types, resets and slow answers. Every call must end in a model or one of the
project's errors (LivyError) within the bound: anything else is an internal traceback."""

from __future__ import annotations

import collections
import copy
import json
import random
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from fabric_livy_magics.errors import LivyError
from fabric_livy_magics.livy.batches import BatchClient
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint

WS = "0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
LH = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
GUID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

SESSION = {"id": 3, "name": "s", "appId": "app-1", "owner": None, "proxyUser": None, "state": "idle",
           "kind": "pyspark", "appInfo": {"driverLogUrl": None, "sparkUiUrl": None}, "log": ["a", "b"]}
FABRIC_SESSION = {"id": GUID, "state": "starting", "fabricSessionStateInfo": {"state": "queued", "errorMessage": None},
                  "livyInfo": {"startingAt": "2024-01-01T00:00:00Z", "currentState": "starting"},
                  "errorInfo": [{"message": "m", "errorCode": "E", "source": "User"}], "log": [], "appId": None}
STATEMENT = {"id": 0, "code": "1", "state": "available", "progress": 1.0, "started": 1, "completed": 2,
             "output": {"status": "ok", "execution_count": 0, "data": {"text/plain": "1"}}}
FAILED_STATEMENT = {"id": 1, "code": "x", "state": "available",
                    "output": {"status": "error", "ename": "E", "evalue": "v", "traceback": ["t"]}}
BATCH = {"id": 4, "name": "b", "state": "success", "appId": "a", "log": ["x"], "appInfo": {}}
VALID = {
    "session": SESSION, "fabric_session": FABRIC_SESSION, "statement": STATEMENT, "failed": FAILED_STATEMENT,
    "sessions": {"from": 0, "total": 1, "sessions": [SESSION]}, "fabric_sessions": {"items": [FABRIC_SESSION]},
    "statements": {"total_statements": 2, "statements": [STATEMENT, FAILED_STATEMENT]},
    "batch": BATCH, "batches": {"from": 0, "total": 1, "sessions": [BATCH]},
    "log": {"id": 3, "from": 0, "total": 2, "log": ["a", "b"]},
}
ODD_VALUES: list[Any] = [None, "", "x" * 100_000, -1, 0, 10**30, 1.5, True, [], {}, [1, [2]], "²", "١٢", "NaN",
                         "idle", "dead", "Error", "🙂", {"nested": {"deep": [None]}}]
RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "9" * 5000, "-0", "1E999"]


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    mode: str = "normal"  # normal | reset | slow | empty


@dataclass
class AnswerOutcome:
    cases: int = 0
    kinds: collections.Counter[str] = field(default_factory=collections.Counter)
    internal: dict[str, list[str]] = field(default_factory=dict)
    hangs: list[str] = field(default_factory=list)


class AnswerServer:
    """Answers every request with ``self.answer``."""

    def __init__(self) -> None:
        self.answer = Answer()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                answer = server.answer
                if answer.mode == "reset":
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if answer.mode == "slow":
                    time.sleep(0.5)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _mutate(rng: random.Random, value: Any) -> Any:
    """One random change somewhere in a JSON value."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        roll = rng.random()
        if roll < 0.3:
            del value[key]
        elif roll < 0.75:
            value[key] = copy.deepcopy(rng.choice(ODD_VALUES))
        else:
            value[key] = _mutate(rng, value[key])
        return value
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = rng.randrange(len(value))
        value[index] = _mutate(rng, value[index])
        return value
    return copy.deepcopy(rng.choice(ODD_VALUES))


def make_answer(rng: random.Random, name: str) -> Answer:
    roll = rng.random()
    if roll < 0.45:
        body = json.dumps(_mutate(rng, copy.deepcopy(VALID[name]))).encode()
        return Answer(body=body)
    if roll < 0.6:  # a raw non-finite or huge number where a number belongs
        text = json.dumps(VALID[name])
        for key in ("\"id\": 3", "\"id\": 0", "\"progress\": 1.0", "\"total\": 1", "\"started\": 1", "\"from\": 0"):
            text = text.replace(key, key.split(":")[0] + ": " + rng.choice(RAW_NUMBERS), 1)
        return Answer(body=text.encode())
    if roll < 0.68:
        depth = rng.choice([1000, 100_000])
        return Answer(body=("[" * depth + "]" * depth).encode())
    if roll < 0.76:
        return Answer(body=rng.choice([b"{", b"<html><title>Bad gateway</title></html>", b"\xff\xfe", b"null", b"[]",
                                       b'"just a string"', b"1"]),
                      content_type=rng.choice(["application/json", "text/html", "text/plain"]))
    if roll < 0.86:
        status = rng.choice([400, 401, 403, 404, 409, 429, 430, 500, 502, 503, 504])
        body = rng.choice([b'{"msg": "no"}', b'"bare string"', b"<html>err</html>", b"",
                           b'{"errorCode": "X", "message": null, "requestId": 5}', b'{"error": {"code": 1}}'])
        return Answer(status=status, body=body)
    if roll < 0.93:
        return Answer(status=rng.choice([200, 201, 202, 204]), body=b"")
    return Answer(mode=rng.choice(["reset", "slow"]), body=json.dumps(VALID[name]).encode())


def _calls(client: LivyClient, batches: BatchClient, fabric: LivyClient) -> list[tuple[str, Callable[[], Any]]]:
    return [
        ("session", lambda: client.get_session(3)),
        ("fabric_session", lambda: fabric.get_session(GUID)),
        ("sessions", lambda: client.list_sessions()),
        ("fabric_sessions", lambda: fabric.list_sessions()),
        ("statement", lambda: client.get_statement(3, 0)),
        ("failed", lambda: client.get_statement(3, 1).raise_for_status()),
        ("statements", lambda: client.list_statements(3)),
        ("statement", lambda: fabric.create_statement(GUID, "1", "pyspark")),
        ("session", lambda: client.create_session(kind="pyspark")),
        ("fabric_session", lambda: fabric.wait_for_session(GUID, timeout=0.5, not_found_grace=0)),
        ("statement", lambda: client.wait_for_statement(3, 0, timeout=0.5)),
        ("log", lambda: client.get_session_log(3)),
        ("batch", lambda: batches.get_batch(4)),
        ("batches", lambda: batches.list_batches()),
        ("log", lambda: batches.get_batch_log(4)),
    ]


def run_answers(cases: int, seed: int, *, bound: float = 10.0) -> AnswerOutcome:
    rng = random.Random(seed)
    outcome = AnswerOutcome()
    server = AnswerServer()
    quick = dict(timeout=(1.0, 0.3), max_retry_after=0.05, throttle_retries=1, backoff_factor=0.001,
                 submit_attempts=1)
    client = LivyClient(LivyEndpoint(server.url), **quick)
    fabric = LivyClient(FabricEndpoint(WS, LH, base_url=server.url), **quick)
    for each in (client, fabric):
        each.submission.unknown_bound = 0.2
    batches = BatchClient(client)
    calls = _calls(client, batches, fabric)
    try:
        for _ in range(cases):
            name, call = rng.choice(calls)
            server.answer = make_answer(rng, name)
            began = time.monotonic()
            try:
                call()
                kind = "ok"
            except LivyError:
                kind = "livy-error"
            except BaseException as exc:  # noqa: BLE001 - what the suite exists to find
                kind = "internal"
                frames = [f for f in traceback.extract_tb(exc.__traceback__) if "fabric_livy_magics" in f.filename]
                where = f"{frames[-1].filename.split('fabric_livy_magics/')[-1]}:{frames[-1].name}" if frames else "?"
                key = f"{type(exc).__name__} at {where}: {str(exc)[:80]}"
                outcome.internal.setdefault(key, []).append(f"{name}: {server.answer.body[:100]!r}")
            elapsed = time.monotonic() - began
            if elapsed > bound:
                outcome.hangs.append(f"{name} took {elapsed:.1f} s: {server.answer.body[:80]!r}")
            outcome.kinds[kind] += 1
            outcome.cases += 1
    finally:
        client.close()
        fabric.close()
        server.close()
    return outcome
