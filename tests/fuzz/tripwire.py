"""What the reliability fuzzers share: a programmable loopback HTTP server (``AnswerServer``,
which can also answer brokenly), the tripwire built on it that counts every request it gets, a
bounded runner that stops waiting for a call after a hard bound, and the ledger that groups the
failures found (type, message pattern, innermost package frame, shortest example).

The tripwire plays a minimal Apache Livy: one idle session (id 0) can be created, read, listed,
logged and deleted, and it has no statements; everything else (statements, batches, any other
path) is refused at once with ``400 {"msg": "tripwire: ..."}``. So a valid magic line reaches as
far as submitting a statement and then ends quickly in the project's own error, while a bad line
must have sent nothing: ``requests`` counts what arrived.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import queue
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import fabric_livy_magics

__all__ = ["Answer", "AnswerServer", "BoundedRunner", "Findings", "Outcome", "Tripwire", "compact", "innermost_frame",
           "quiet_logs", "stack_place"]

_PACKAGE_DIR = str(Path(fabric_livy_magics.__file__).resolve().parent)

@dataclass(frozen=True)
class Answer:
    """One HTTP answer; ``mode`` breaks it: reset (close without answering), slow (2.5 s before
    the status line), trickle (a byte every half second, 12 s at most), truncated (fewer bytes
    than Content-Length), bad-status, bad-header, gzip (Content-Encoding gzip over a body that is
    not, or cut), bad-chunks (invalid chunked encoding), no-length (read until close)."""

    status: int = 200
    body: bytes = b"{}"
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    mode: str = "normal"

    def describe(self) -> str:
        head = " ".join(f"{k}: {v}" for k, v in self.headers if k != "Content-Type" or v != "application/json")
        mode = "" if self.mode == "normal" else f"[{self.mode}] "
        return f"{mode}{self.status} {head + ' ' if head else ''}{compact(self.body.decode('utf-8', 'replace'), 160)}"


class AnswerServer:
    """A threaded loopback HTTP server answering each request with ``respond(method, path)``;
    ``program(answer, matches, times)`` makes it give ``answer`` instead to the requests that
    ``matches(method, path)`` selects (the first ``times`` of them; 0: all)."""

    def __init__(self, respond: Callable[[str, str], Answer]) -> None:
        self._program: tuple[Answer, Callable[[str, str], bool], int] | None = None
        self._served, self._lock = 0, threading.Lock()

        def answer(method: str, path: str) -> Answer:
            with self._lock:
                if self._program is not None:
                    programmed, matches, times = self._program
                    if (times == 0 or self._served < times) and matches(method, path):
                        self._served += 1
                        return programmed
            return respond(method, path)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm and the
                # client's delayed ACK add ~40 ms to every answer on a kept-alive connection.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                _send(self, answer(self.command, self.path.split("?")[0]))

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="answer-server", daemon=True)
        self._thread.start()

    def program(self, answer: Answer, matches: Callable[[str, str], bool], times: int = 0) -> None:
        with self._lock:
            self._program, self._served = (answer, matches, times), 0

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
    handler.close_connection = answer.mode != "normal"
    out, body, extra = handler.wfile, answer.body, []
    try:
        if answer.mode == "reset":
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if answer.mode == "bad-status":
            out.write(b"HTTP/1.1 abc\r\n\r\n")
            return
        if answer.mode == "slow":
            time.sleep(2.5)  # the answers fuzzer's client reads with a 2 s timeout
        if answer.mode == "gzip":
            extra, body = ["Content-Encoding: gzip"], body if len(body) % 2 else gzip.compress(body)[:-4]
        elif answer.mode == "bad-header":
            extra = ["X-Broken\r\nno colon here"]
        head = [f"HTTP/1.1 {answer.status} X", *(f"{k}: {v}" for k, v in answer.headers), *extra]
        if answer.mode == "bad-chunks":
            out.write(("\r\n".join(head + ["Transfer-Encoding: chunked"]) + "\r\n\r\nzz\r\nab\r\n").encode())
            return
        if answer.mode != "no-length":
            head.append(f"Content-Length: {len(body) + (50 if answer.mode == 'truncated' else 0)}")
        out.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace"))
        if answer.mode == "trickle":
            for i in range(min(len(body), 24)):
                out.write(body[i:i + 1])
                time.sleep(0.5)
            return
        out.write(body)
    except OSError:
        handler.close_connection = True


SESSION = {"id": 0, "name": "tripwire", "appId": None, "owner": None, "proxyUser": None, "state": "idle",
           "kind": "pyspark", "appInfo": {"driverLogUrl": None, "sparkUiUrl": None}, "log": ["tripwire"]}
_ANSWERS: list[tuple[str, str, int, Any]] = [
    ("POST", r"/sessions/?", 201, SESSION),
    ("GET", r"/sessions/?", 200, {"from": 0, "total": 1, "sessions": [SESSION]}),
    ("GET", r"/sessions/0/?", 200, SESSION),
    ("GET", r"/sessions/0/state", 200, {"id": 0, "state": "idle"}),
    ("GET", r"/sessions/0/log", 200, {"id": 0, "from": 0, "total": 1, "log": ["tripwire"]}),
    ("GET", r"/sessions/0/statements/?", 200, {"total_statements": 0, "statements": []}),
    ("DELETE", r"/sessions/0/?", 200, {"msg": "deleted"}),
]
REFUSAL = json.dumps({"msg": "tripwire: this server refuses everything"}).encode()


class Tripwire:
    """``with Tripwire() as wire:`` serves on ``wire.url``; ``wire.requests`` counts requests."""

    def __init__(self) -> None:
        self.requests = 0
        self.last: list[str] = []  # the latest requests, "METHOD /path"
        self._lock = threading.Lock()
        self._server: AnswerServer | None = None

    def _respond(self, method: str, path: str) -> Answer:
        with self._lock:
            self.requests += 1
            self.last = (self.last + [f"{method} {path[:80]}"])[-5:]
        for verb, pattern, status, body in _ANSWERS:
            if verb == method and re.fullmatch(pattern, path):
                return Answer(status, json.dumps(body).encode())
        return Answer(400, REFUSAL)

    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    def __enter__(self) -> "Tripwire":
        self._server = AnswerServer(self._respond)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """Warnings of the package (retries, ambiguous submits) and of the sign-in libraries are
    expected here by the thousand."""
    loggers = [logging.getLogger(name) for name in ("fabric_livy_magics", "azure", "msal", "urllib3")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


@dataclass
class Outcome:
    finished: bool
    value: Any
    error: BaseException | None
    seconds: float
    where: str = ""  # for a hang: the innermost package frame and the innermost frame then


class BoundedRunner:
    """Runs calls one at a time in a worker thread; stops waiting after ``bound`` seconds.

    A call still running then is a hang: its thread is abandoned (a daemon; Python cannot stop
    it) and the next call gets a new worker."""

    def __init__(self, bound: float) -> None:
        self.bound = bound
        self._jobs: queue.Queue[Any] | None = None
        self._thread: threading.Thread | None = None
        self._strays: list[threading.Thread] = []
        self.abandoned = 0

    def _worker(self, jobs: queue.Queue[Any]) -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            func, results = job
            began = time.monotonic()
            try:
                value, error = func(), None
            except BaseException as exc:  # noqa: BLE001 - handed to the caller to classify
                value, error = None, exc
            results.put((value, error, time.monotonic() - began))

    def run(self, func: Callable[[], Any]) -> Outcome:
        """What ``func()`` did; not ``finished`` means a hang, with where it was then."""
        if self._jobs is None:
            self._jobs = queue.Queue()
            self._thread = threading.Thread(target=self._worker, args=(self._jobs,), name="bounded-runner",
                                            daemon=True)
            self._thread.start()
        results: queue.Queue[Any] = queue.Queue()
        began = time.monotonic()
        self._jobs.put((func, results))
        try:
            value, error, seconds = results.get(timeout=self.bound)
        except queue.Empty:
            frame = sys._current_frames().get(self._thread.ident or 0)
            stack = traceback.extract_stack(frame) if frame is not None else []
            self._jobs, self.abandoned = None, self.abandoned + 1
            if self._thread is not None:
                self._strays.append(self._thread)
            return Outcome(False, None, None, time.monotonic() - began, where=stack_place(stack))
        return Outcome(True, value, error, seconds)

    @property
    def stray_running(self) -> bool:
        """An abandoned call is still running (it may still send requests)."""
        return any(thread.is_alive() for thread in self._strays)

    def settle(self, wait: float) -> bool:
        """Give abandoned calls up to ``wait`` seconds to end (they still use the shell or the
        client, and the CPU); True when none is left running."""
        deadline = time.monotonic() + wait
        for thread in self._strays:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._strays = [t for t in self._strays if t.is_alive()]
        return not self._strays

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.put(None)
            self._jobs = None


def _place(frame: traceback.FrameSummary) -> str:
    path = str(Path(frame.filename).resolve())
    if path.startswith(_PACKAGE_DIR):
        path = path[len(_PACKAGE_DIR) - len("fabric_livy_magics"):]
    elif "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/lib/python" in path:
        path = "stdlib " + path.rsplit("/", 1)[1]
    return f"{path}:{frame.name} (line {frame.lineno})"


def _in_package(frame: traceback.FrameSummary) -> bool:
    return str(Path(frame.filename).resolve()).startswith(_PACKAGE_DIR)


def innermost_frame(exc: BaseException) -> str:
    """``fabric_livy_magics/x.py:function (line N)`` of the deepest package frame in the traceback
    (and the frame that raised, when that is outside the package)."""
    return stack_place(traceback.extract_tb(exc.__traceback__))


def stack_place(stack: list[traceback.FrameSummary]) -> str:
    ours = [f for f in stack if _in_package(f)]
    if not stack:
        return "(no frame)"
    if not ours:
        return f"(no package frame; in {_place(stack[-1])})"
    if ours[-1] is stack[-1]:
        return _place(ours[-1])
    return f"{_place(ours[-1])}; raised in {_place(stack[-1])}"


def compact(text: str, limit: int = 160) -> str:
    """``repr(text)`` with a short unit repeated many times written as ``<'9'×5000>`` or
    ``<'-q '×13000>``, then cut at ``limit`` characters."""
    out: list[str] = []
    for match in re.finditer(r"(.{1,12}?)\1{7,}|.", text, re.DOTALL):
        unit = match.group(1)
        out.append(f"<{unit!r}×{len(match.group(0)) // len(unit)}>" if unit else repr(match.group(0))[1:-1])
    shown = "".join(out)
    return shown if len(shown) <= limit else shown[:limit] + f"…(+{len(shown) - limit} chars)"


def pattern(message: str) -> str:
    """A message with its variable parts (numbers, quoted text, ports) generalised, for grouping."""
    text = " ".join(str(message).split())
    text = re.sub(r"(.)\1{11,}", lambda m: f"<{m.group(1)}×N>", text)
    text = re.sub(r"'[^']{0,200}'|\"[^\"]{0,200}\"", "'…'", text)
    text = re.sub(r"\d+", "N", text)
    return text[:140]


@dataclass
class Group:
    part: str  # magic lines, server answers, statements
    kind: str  # internal, hang, prompt, request for a bad line, lost, run twice, ...
    type_name: str
    message: str  # pattern
    frame: str
    count: int = 0
    example: str = ""
    example_message: str = ""


@dataclass
class Findings:
    """Distinct failures of one part, grouped by (kind, exception type, message pattern, frame)."""

    part: str
    groups: dict[tuple[str, ...], Group] = field(default_factory=dict)

    def add(self, kind: str, example: str, exc: BaseException | None = None, *,
            type_name: str | None = None, message: str = "", frame: str = "") -> None:
        name = type_name or (type(exc).__name__ if exc is not None else kind)
        text = message or (str(exc) if exc is not None else "")
        where = frame or (innermost_frame(exc) if exc is not None else "")
        key = (kind, name, pattern(text), re.sub(r" \(line \d+\)", "", where))
        group = self.groups.setdefault(key, Group(self.part, kind, name, pattern(text), where))
        group.count += 1
        if not group.example or len(example) < len(group.example):
            group.example, group.example_message = example, text

    def count(self, kind: str) -> int:
        return sum(g.count for g in self.groups.values() if g.kind == kind)

    def merge(self, other: "Findings") -> None:
        for key, group in other.groups.items():
            key = (group.part, *key)
            fresh = Group(group.part, group.kind, group.type_name, group.message, group.frame)
            mine = self.groups.setdefault(key, fresh)
            mine.count += group.count
            if not mine.example or len(group.example) < len(mine.example):
                mine.example, mine.example_message = group.example, group.example_message

    def report(self) -> list[str]:
        """The grouped list, most frequent first, one paragraph per distinct failure."""
        lines = []
        for g in sorted(self.groups.values(), key=lambda g: (-g.count, g.kind, g.type_name)):
            lines.append(f"[{g.part}: {g.kind}] {g.count}x {g.type_name}: {g.message}")
            if g.frame:
                lines.append(f"    at {g.frame}")
            if g.example_message and pattern(g.example_message) != g.example_message:
                lines.append(f"    message: {compact(g.example_message, 240)}")
            lines.append(f"    e.g. {compact(g.example, 700)}")
        return lines
