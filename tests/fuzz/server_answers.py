"""Mutated server answers against the real client (``LivyClient``, ``BatchClient``,
``ManagedSession``), served by a programmable HTTP server on loopback.

A case is one client call and one answer for the request the call is about (its other requests
get valid answers; ids the server does not know get 404). Valid answers of both shapes (Apache
Livy and Fabric: session, session list, statement, statement list, batch, batch list, log,
high-concurrency session) are mutated: wrong types, missing fields, nulls, huge strings, raw
``NaN``/``Infinity``/``1e400``/4,300-digit numbers, non-ASCII digits in ids, nesting up to 100,000
levels, not JSON, HTML, wrong content types and encodings, empty bodies, error statuses with odd
bodies and ``Retry-After``, resets, broken HTTP, answers slower than the read timeout of
``timeout=(1, 2)`` and answers that trickle in a byte at a time.

Every call must end in a model or a ``LivyError`` within the bound, and a ``MalformedResponse``
must name the URL. The backoff is made tiny (``backoff_factor=0.01``, ``max_retry_after=1``) so a
retried answer costs milliseconds; the retry counts are the defaults.
"""

from __future__ import annotations

import copy
import json
import random
import re
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from fabric_livy_magics.errors import LivyError, MalformedResponse
from fabric_livy_magics.livy.batches import BatchClient
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint
from fabric_livy_magics.livy.lifecycle import ManagedSession
from fabric_livy_magics.livy.models import StatementTarget
from fabric_livy_magics.livy.targets import SessionOptions
from tests.fuzz.tripwire import Answer, AnswerServer, BoundedRunner, Findings, Outcome, quiet_logs

__all__ = ["AnswersResult", "Case", "make_case", "run_answers"]

WS, LH = "0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
GUID, BATCH_GUID, HC = "7c9e6679-7425-40de-944b-e07fc1f90ae7", "1d4e5f60-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "hc-1"
FABRIC_ROOT = f"/v1/workspaces/{WS}/lakehouses/{LH}/livyApi/versions/2023-12-01"

KNOWN_IDS = {"3", "4", GUID, BATCH_GUID, HC}  # other ids are answered 404, as by a real server
_OUTPUT = {"status": "ok", "execution_count": 0, "data": {"text/plain": "1"}}
STATEMENT = {"id": 0, "code": "1", "state": "available", "progress": 1.0, "started": 1700000000000,
             "completed": 1700000000001, "output": _OUTPUT, "sourceId": "s-1"}
LIVY = {
    "session": {"id": 3, "name": "s", "appId": "app-1", "owner": None, "proxyUser": None, "state": "idle",
                "kind": "pyspark", "appInfo": {"driverLogUrl": None, "sparkUiUrl": None}, "log": ["a", "b"]},
    "statement": STATEMENT,
    "failed": {"id": 0, "code": "x", "state": "available",
               "output": {"status": "error", "execution_count": 0, "ename": "E", "evalue": "v", "traceback": ["t"]}},
    "batch": {"id": 4, "name": "b", "state": "success", "appId": "a", "log": ["x"], "appInfo": {}},
    "log": {"id": 3, "from": 0, "total": 2, "log": ["a", "b"]},
    "state": {"id": 3, "state": "idle"}, "batch_state": {"id": 4, "state": "success"},
    "msg": {"msg": "deleted"}, "completion": {"candidates": ["abs", "all"]},
}
_INFO = {"startingAt": "2024-01-01T00:00:00Z", "idleAt": "2024-01-01T00:00:05Z", "currentState": "idle"}
FABRIC = dict(LIVY, **{
    "session": {"id": GUID, "name": "s", "state": "idle", "appId": "application_1_0001", "log": ["a"],
                "fabricSessionStateInfo": {"state": "unknown", "errorMessage": None}, "livyInfo": _INFO,
                "errorInfo": [{"message": "m", "errorCode": "E", "source": "User"}], "submitterName": "x",
                "tags": {}},
    "batch": {"id": BATCH_GUID, "name": "b", "state": "success", "appId": "a", "log": ["x"], "livyInfo": _INFO,
              "fabricBatchStateInfo": {"state": "unknown", "errorMessage": None}, "errorInfo": []},
    "hc": {"id": HC, "state": "Idle", "sessionId": GUID, "replId": "repl-1", "sessionTag": "t",
           "fabricSessionStateInfo": {"state": "unknown"}, "workspaceId": WS, "artifactId": LH,
           "createdAt": "2024-01-01T00:00:00Z", "creatorId": "c"},
})
for _shape, _list in ((LIVY, "sessions"), (FABRIC, "items")):
    _shape["sessions"] = {"from": 0, "total": 1, _list: [_shape["session"]]}
    _shape["batches"] = {"from": 0, "total": 1, _list: [_shape["batch"]]}
    _shape["statements"] = {"total_statements": 1, "statements": [STATEMENT]}
    _shape["submitted"] = dict(STATEMENT, state="waiting", output=None, progress=0.0)

# The requests a client sends, by name: (method, path after the root, valid answer). A case
# mutates the answer of one of them; the others are answered validly.
_ID, _STMTS = r"[^/]+", r"(?:/sessions/[^/]+|/highConcurrencySessions/[^/]+/repls/[^/]+)/statements"
ROUTES = {
    "create-session": ("POST", "/sessions", "session"), "list-sessions": ("GET", "/sessions", "sessions"),
    "get-session": ("GET", f"/sessions/{_ID}", "session"), "delete-session": ("DELETE", f"/sessions/{_ID}", "msg"),
    "session-state": ("GET", f"/sessions/{_ID}/state", "state"), "session-log": ("GET", f"/sessions/{_ID}/log", "log"),
    "reset-timeout": ("POST", f"/sessions/{_ID}/reset-timeout", "msg"),
    "completion": ("POST", f"/sessions/{_ID}/completion", "completion"),
    "list-statements": ("GET", _STMTS, "statements"), "create-statement": ("POST", _STMTS, "submitted"),
    "get-statement": ("GET", _STMTS + r"/\d+", "statement"), "cancel": ("POST", _STMTS + r"/\d+/cancel", "msg"),
    "create-hc": ("POST", "/highConcurrencySessions", "hc"), "get-hc": ("GET", f"/highConcurrencySessions/{_ID}", "hc"),
    "delete-hc": ("DELETE", f"/highConcurrencySessions/{_ID}", "msg"), "create-batch": ("POST", "/batches", "batch"),
    "list-batches": ("GET", "/batches", "batches"), "get-batch": ("GET", f"/batches/{_ID}", "batch"),
    "batch-state": ("GET", f"/batches/{_ID}/state", "batch_state"), "batch-log": ("GET", f"/batches/{_ID}/log", "log"),
    "delete-batch": ("DELETE", f"/batches/{_ID}", "msg"),
}

HUGE_DIGITS = ["9" * 4300, "9" * 4301, "-" + "9" * 5000]
ODD_VALUES: list[Any] = [None, "", "x" * 1_000_000, -1, 0, 2**63, 10**30, 1.5, -0.0, True, False, [], {}, [1, [2]],
                         "²", "١٢", "１２", "NaN", "idle", "dead", "Error", "🙂", "\ud800", "\x00", "<b>x</b>", 1e308,
                         {"nested": {"deep": [None]}}, "2024-13-45T99:99:99Z", ["a"] * 150]
RAW_TOKENS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E999", "1e-400", "-0", "1" * 30, *HUGE_DIGITS,
              "[" * 950 + "]" * 950, "[" * 5000 + "]" * 5000, '"' + "x" * 2_000_000 + '"']
NOT_JSON = [b"{", b'{"id": 1,', b"<html><title>502 Bad Gateway</title></html>", b"\xff\xfe\x00x", b"null", b"[]",
            b'"just a string"', b"1", b"true", b"NaN", b"\x00" * 8, b"{}{}", b"\xef\xbb\xbf{}", b"<?xml version='1.0'?><a/>"]
CONTENT_TYPES = ["application/json", "text/html", "text/plain", "application/json; charset=utf-16",
                 "application/json; charset=bogus", "", "application/problem+json"]
ERROR_BODIES = [b'{"msg": "no"}', b'"bare string"', b"<html><title>Oops</title><body>err</body></html>", b"",
                b'{"errorCode": "X", "message": null, "requestId": 5}', b'{"error": {"code": 1, "message": ["a"]}}',
                b'{"errorCode": "TooManyRequestsForCapacity", "message": "busy", "moreDetails": [{}]}',
                b"[" * 100_000 + b"]" * 100_000, b'{"msg": "' + b"x" * 1_000_000 + b'"}', b'{"message": {"a": 1}}',
                b'{"msg": "Bearer eyJhbGciOi.eyJzdWIiOi.sig"}', b"\xff\xfe"]
RETRY_AFTER = [None, "0", "1", "-5", "soon", "1e400", "9" * 30, "nan", "Wed, 21 Oct 2015 07:28:00 GMT",
               "Fri, 31 Dec 9999 23:59:59 GMT", "", "0.5", "²"]
RETRIED = [429, 430, 502, 503, 504]
MODES = ["reset", "slow", "trickle", "truncated", "bad-status", "bad-header", "gzip", "bad-chunks", "no-length"]


@dataclass(frozen=True)
class Case:
    index: int
    call: str
    answer: Answer
    times: int  # matching requests that get it; 0: all of them
    label: str

    def show(self) -> str:
        repeat = "every time" if self.times == 0 else f"{self.times}x"
        return f"#{self.index} {self.call} <- {self.label} ({repeat}): {self.answer.describe()}"


def _raw(value: Any, raws: list[str]) -> str:
    """JSON text of ``value``, with ``Raw`` placeholders replaced by their literal text."""
    text = json.dumps(value)
    for i, token in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{i}\x00"), token)
    return text


def _mutate(rng: random.Random, value: Any, raws: list[str]) -> Any:
    """One change somewhere in a JSON value: delete, replace with an odd value or a raw token."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        roll = rng.random()
        if roll < 0.25:
            del value[key]
        elif roll < 0.55:
            value[key] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif roll < 0.75:
            raws.append(rng.choice(RAW_TOKENS))
            value[key] = f"\x00raw{len(raws) - 1}\x00"
        else:
            value[key] = _mutate(rng, value[key], raws)
        return value
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = rng.randrange(len(value))
        value[index] = _mutate(rng, value[index], raws)
        return value
    return copy.deepcopy(rng.choice(ODD_VALUES))


def make_answer(rng: random.Random, base: Any) -> tuple[Answer, str, bool]:
    """(answer, label, repeatable-forever) for a request whose valid answer is ``base``."""
    roll = rng.random()
    if roll < 0.42:
        raws: list[str] = []
        value = copy.deepcopy(base)
        for _ in range(rng.choice([1, 1, 2, 3])):
            value = _mutate(rng, value, raws)
        return Answer(body=_raw(value, raws).encode()), "mutated JSON", True
    if roll < 0.50:
        depth = rng.choice([100, 990, 2000, 100_000])
        body = ("[" * depth + "]" * depth).encode() if rng.random() < 0.5 else \
            _raw({"id": "\x00raw0\x00", "state": "idle"}, ["[" * depth + "]" * depth]).encode()
        return Answer(body=body), f"nested {depth} deep", True
    if roll < 0.58:
        return (Answer(body=rng.choice(NOT_JSON), headers=(("Content-Type", rng.choice(CONTENT_TYPES)),)),
                "not JSON", True)
    if roll < 0.64:
        body = json.dumps(base).encode()
        return Answer(body=body, headers=(("Content-Type", rng.choice(CONTENT_TYPES)),)), "content type", True
    if roll < 0.67:
        big = copy.deepcopy(base)
        for key in ("sessions", "items", "statements", "log"):
            if isinstance(big, dict) and isinstance(big.get(key), list) and big[key]:
                big[key] = big[key] * rng.choice([100, 150, 100_000 if key == "log" else 150])
                big.pop("total", None)
        return Answer(body=json.dumps(big).encode()), "long lists, no total", True
    if roll < 0.80:
        status = rng.choice([400, 401, 403, 404, 405, 409, 413, 418, 500, 599, 301, 302] + RETRIED * 2)
        headers = [("Content-Type", rng.choice(CONTENT_TYPES[:3]))]
        after = rng.choice(RETRY_AFTER)
        if after is not None:
            headers.append(("Retry-After", after))
        if rng.random() < 0.2:
            headers.append(rng.choice([("x-ms-request-id", "r" * 5000), ("WWW-Authenticate", 'Bearer error="x'),
                                       ("Location", "/elsewhere"), ("Location", "http://[::1")]))
        return Answer(status, rng.choice(ERROR_BODIES), tuple(headers)), f"HTTP {status}", status not in RETRIED
    if roll < 0.86:
        status, content_type = rng.choice([200, 201, 202, 204]), rng.choice(CONTENT_TYPES)
        return Answer(status, b"", (("Content-Type", content_type),)), "empty body", True
    mode = rng.choices(MODES, weights=[4, 2, 1, 3, 3, 3, 3, 3, 3])[0]
    return Answer(body=json.dumps(base).encode(), mode=mode), mode, mode not in ("slow", "trickle")


def _route_of(method: str, path: str) -> tuple[str | None, str, bool]:
    """(route name, path after the root, Fabric shape?) of a request."""
    fabric = path.startswith(FABRIC_ROOT)
    path = path[len(FABRIC_ROOT):] if fabric else path
    route = next((key for key, (verb, pattern, _) in ROUTES.items()
                  if verb == method and re.fullmatch(pattern, path)), None)
    return route, path, fabric


def valid_answer(method: str, path: str) -> Answer:
    """What a healthy server answers (404 for an id it does not know)."""
    route, path, fabric = _route_of(method, path)
    known = re.match(r"/(?:sessions|batches|highConcurrencySessions)/([^/]+)", path)
    if route is None or (known and known.group(1) not in KNOWN_IDS):
        return Answer(404, b'{"msg": "Session not found."}')
    body = json.dumps((FABRIC if fabric else LIVY)[ROUTES[route][2]]).encode()
    return Answer(201 if route in ("create-session", "create-batch") else 200, body)


class Endless(Exception):
    """A listing that did not end: the client kept asking for more pages."""


def _drain(items: Any, cap: int = 20_000) -> int:
    for count, _ in enumerate(items, 1):
        if count > cap:
            raise Endless(f"the listing had not ended after {cap:,} items (the server repeats its page)")
    return 0


class Clients:
    """One worker's clients: both URL shapes, and their batch halves."""

    def __init__(self, url: str, job: str) -> None:
        quick: dict[str, Any] = dict(timeout=(1, 2), backoff_factor=0.01, max_retry_after=1)
        self.livy = LivyClient(LivyEndpoint(url), **quick)
        self.fabric = LivyClient(FabricEndpoint(WS, LH, base_url=url), **quick)
        self.livy_batches, self.fabric_batches, self.job = BatchClient(self.livy), BatchClient(self.fabric), job

    def close(self) -> None:
        self.livy.close()
        self.fabric.close()


def _start(client: LivyClient, start_timeout: float = 900.0, **options: Any) -> Any:
    """What the first cell of a notebook does (with its default start timeout): create the session
    and wait until it is ready. Polls get valid answers unless the case is about them."""
    managed = ManagedSession(client, SessionOptions(**options), start_timeout=start_timeout, keepalive_interval=0)
    try:
        return managed.ensure()
    finally:
        managed.close()  # never raises


_REPL = StatementTarget(GUID, "repl-1")
#: name -> (shape, route whose answer is mutated, valid answer to mutate or None: the route's, call)
CALLS: dict[str, tuple[str, str, str | None, Callable[[Clients], Any]]] = {
    "get_session": ("livy", "get-session", None, lambda c: c.livy.get_session(3)),
    "get_session (Fabric)": ("fabric", "get-session", None, lambda c: c.fabric.get_session(GUID)),
    "list_sessions": ("livy", "list-sessions", None, lambda c: c.livy.list_sessions()),
    "list_sessions (Fabric)": ("fabric", "list-sessions", None, lambda c: c.fabric.list_sessions()),
    "iter_sessions": ("livy", "list-sessions", None, lambda c: _drain(c.livy.iter_sessions())),
    "iter_sessions (Fabric)": ("fabric", "list-sessions", None, lambda c: _drain(c.fabric.iter_sessions())),
    "create_session": ("livy", "create-session", None, lambda c: c.livy.create_session(kind="pyspark")),
    "create_session (Fabric)": ("fabric", "create-session", None, lambda c: c.fabric.create_session(name="n")),
    "wait_for_session": ("livy", "get-session", None, lambda c: c.livy.wait_for_session(3, timeout=1)),
    "wait_for_session (Fabric)": ("fabric", "get-session", None, lambda c: c.fabric.wait_for_session(GUID, timeout=1)),
    "session start, create answer": ("livy", "create-session", None, lambda c: _start(c.livy)),
    "session start, create answer (Fabric)": ("fabric", "create-session", None, lambda c: _start(c.fabric)),
    "session start, poll answer (Fabric)": ("fabric", "get-session", None, lambda c: _start(c.fabric, 2)),
    "session start, high concurrency (Fabric)": ("fabric", "create-hc", None,
                                                 lambda c: _start(c.fabric, high_concurrency=True, tag="t")),
    "get_session_state": ("livy", "session-state", None, lambda c: c.livy.get_session_state(3)),
    "get_session_log": ("livy", "session-log", None, lambda c: c.livy.get_session_log(3)),
    "get_session_log (Fabric)": ("fabric", "get-session", None, lambda c: c.fabric.get_session_log(GUID)),
    "delete_session": ("livy", "delete-session", None, lambda c: c.livy.delete_session(3)),
    "reset_session_timeout (Fabric)": ("fabric", "reset-timeout", None, lambda c: c.fabric.reset_session_timeout(GUID)),
    "complete": ("livy", "completion", None, lambda c: c.livy.complete(3, "a")),
    "get_statement": ("livy", "get-statement", None, lambda c: c.livy.get_statement(3, 0)),
    "get_statement, failed": ("livy", "get-statement", "failed",
                              lambda c: c.livy.get_statement(3, 0).raise_for_status()),
    "get_statement (Fabric)": ("fabric", "get-statement", None, lambda c: c.fabric.get_statement(GUID, 0)),
    "get_full_output_text (Fabric)": ("fabric", "get-statement", None,
                                      lambda c: c.fabric.get_full_output_text(GUID, 0, page_size=1000,
                                                                              max_bytes=100_000)),
    "list_statements": ("livy", "list-statements", None, lambda c: c.livy.list_statements(3)),
    "list_statements (Fabric)": ("fabric", "list-statements", None, lambda c: c.fabric.list_statements(GUID)),
    "create_statement": ("livy", "create-statement", None, lambda c: c.livy.create_statement(3, "1", "pyspark")),
    "create_statement (Fabric)": ("fabric", "create-statement", None, lambda c: c.fabric.create_statement(GUID, "1")),
    "create_statement (Fabric REPL)": ("fabric", "create-statement", None,
                                       lambda c: c.fabric.create_statement(_REPL, "1")),
    "wait_for_statement": ("livy", "get-statement", "submitted", lambda c: c.livy.wait_for_statement(3, 0, timeout=1)),
    "run_statement (Fabric)": ("fabric", "get-statement", None, lambda c: c.fabric.run_statement(GUID, "1", timeout=1)),
    "cancel_statement": ("livy", "cancel", None, lambda c: c.livy.cancel_statement(3, 0)),
    "acquire_high_concurrency_session": ("fabric", "create-hc", None,
                                         lambda c: c.fabric.acquire_high_concurrency_session("t")),
    "wait_for_high_concurrency_session": ("fabric", "get-hc", None,
                                          lambda c: c.fabric.wait_for_high_concurrency_session(HC, timeout=1)),
    "create_batch": ("livy", "create-batch", None, lambda c: c.livy_batches.create_batch(c.job, args=["a"])),
    "create_batch (Fabric)": ("fabric", "create-batch", None, lambda c: c.fabric_batches.create_batch(c.job)),
    "get_batch": ("livy", "get-batch", None, lambda c: c.livy_batches.get_batch(4)),
    "get_batch (Fabric)": ("fabric", "get-batch", None, lambda c: c.fabric_batches.get_batch(BATCH_GUID)),
    "get_batch_state": ("livy", "batch-state", None, lambda c: c.livy_batches.get_batch_state(4)),
    "list_batches": ("livy", "list-batches", None, lambda c: c.livy_batches.list_batches()),
    "list_batches (Fabric)": ("fabric", "list-batches", None, lambda c: c.fabric_batches.list_batches()),
    "iter_batches": ("livy", "list-batches", None, lambda c: _drain(c.livy_batches.iter_batches())),
    "get_batch_log": ("livy", "batch-log", None, lambda c: c.livy_batches.get_batch_log(4)),
    "get_batch_log (Fabric)": ("fabric", "get-batch", None, lambda c: c.fabric_batches.get_batch_log(BATCH_GUID)),
    "cancel_batch": ("livy", "delete-batch", None, lambda c: c.livy_batches.cancel_batch(4)),
    "wait_for_batch": ("livy", "get-batch", None, lambda c: c.livy_batches.wait_for_batch(4, timeout=1)),
    "wait_for_batch (Fabric)": ("fabric", "get-batch", None,
                                lambda c: c.fabric_batches.wait_for_batch(BATCH_GUID, timeout=1)),
}


def make_case(seed: int, index: int) -> Case:
    """Case ``index`` of run ``seed``, from its own generator (so it can be made again alone)."""
    rng = random.Random(f"server-answers:{seed}:{index}")
    call = rng.choice(list(CALLS))
    shape, route, base_key, _ = CALLS[call]
    base = (FABRIC if shape == "fabric" else LIVY)[base_key or ROUTES[route][2]]
    answer, label, forever = make_answer(rng, base)
    if forever:
        times = 0 if rng.random() < 0.85 else rng.choice([1, 2])
    else:  # retried statuses and slow answers: now and then, or (statuses only) every time
        times = rng.choice([1, 1, 2, 0]) if answer.mode == "normal" else rng.choice([1, 2])
    return Case(index, call, answer, times, label)


@dataclass
class AnswersResult:
    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)  # what the answers were
    internal: int = 0
    hangs: int = 0
    unnamed_url: int = 0
    durations: list[float] = field(default_factory=list)
    findings: Findings = field(default_factory=lambda: Findings("server answers"))

    def summary(self) -> str:
        times = sorted(self.durations) or [0.0]
        return (f"server answers: {self.cases} cases ({dict(self.outcomes)}); internal tracebacks {self.internal}, "
                f"hangs over the bound {self.hangs}, MalformedResponse not naming the URL {self.unnamed_url}; "
                f"per case median {times[len(times) // 2] * 1000:.0f} ms, max {times[-1]:.1f} s")


def _classify(result: AnswersResult, case: Case, outcome: Outcome, port: int, bound: float) -> None:
    shown, exc = case.show(), outcome.error
    result.cases += 1
    result.labels[case.label] += 1
    result.durations.append(outcome.seconds)
    if not outcome.finished or outcome.seconds > bound or isinstance(exc, Endless):
        result.hangs += 1
        result.outcomes["hang"] += 1
        endless = isinstance(exc, Endless)
        message = str(exc) if endless else f"no end within {bound:g} s"
        result.findings.add("hang", shown, type_name="Hang", message=message,
                            frame="livy/paging.py:iter_pages, under the client's iter_*" if endless else outcome.where)
    elif exc is None:
        result.outcomes["model"] += 1
    elif isinstance(exc, LivyError):
        result.outcomes[f"livy:{type(exc).__name__}"] += 1
        if isinstance(exc, MalformedResponse) and f"127.0.0.1:{port}" not in str(exc):
            result.unnamed_url += 1
            result.findings.add("error without the URL", shown, exc)
    else:
        result.internal += 1
        result.outcomes["internal"] += 1
        result.findings.add("internal", shown, exc)


def _work(indexes: list[int], seed: int, bound: float, job: str, result: AnswersResult, lock: threading.Lock) -> None:
    server, runner, left = AnswerServer(valid_answer), BoundedRunner(bound), []
    clients = Clients(server.url, job)
    try:
        for index in indexes:
            case = make_case(seed, index)
            route = CALLS[case.call][1]
            server.program(case.answer, lambda method, path, route=route: _route_of(method, path)[0] == route,
                           case.times)
            outcome = runner.run(lambda: CALLS[case.call][3](clients))
            with lock:
                _classify(result, case, outcome, server.port, bound)
            if not outcome.finished:  # a fresh server and clients: the stray call keeps the old ones
                left.append((server, clients))
                server = AnswerServer(valid_answer)
                clients = Clients(server.url, job)
    finally:
        runner.settle(15)
        for old_server, old_clients in [*left, (server, clients)]:
            old_server.close()
            old_clients.close()
        runner.close()


def run_answers(cases: int, seed: int, *, bound: float = 10.0, workers: int = 8) -> AnswersResult:
    """Cases ``0 .. cases-1`` of ``seed``, spread over ``workers`` threads (each with its own
    server and clients: slow answers overlap instead of adding up)."""
    result, lock = AnswersResult(), threading.Lock()
    with tempfile.TemporaryDirectory(prefix="fuzz-answers-") as tmp, quiet_logs():
        job = str(Path(tmp) / "job.py")
        Path(job).write_text("print(1)\n")
        threads = [threading.Thread(target=_work, args=(list(range(w, cases, workers)), seed, bound, job, result, lock),
                                    name=f"answers-{w}") for w in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return result
