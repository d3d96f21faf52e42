"""A small threaded HTTP proxy on loopback that injects faults in front of the real local server.

Tests queue rules ("the next POST to .../statements: drop the connection after forwarding it");
every other request is forwarded untouched. The proxy records what it did, so a test can prove
how many times a request really reached the server.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import urlsplit

__all__ = ["Fault", "FaultProxy"]

_HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
                "te", "trailer", "content-length", "host"}


@dataclass
class Fault:
    """What to do with the next ``times`` requests matching ``method`` and ``path`` (a regex).

    action:
      ``status``        answer ``status`` without forwarding (the server never sees it)
      ``drop_before``   close the connection without forwarding
      ``drop_after``    forward, then close the connection without answering
      ``status_after``  forward, then answer ``status`` instead of the real answer
      ``delay``         forward, wait ``delay`` seconds, then answer
      ``hold``          wait ``delay`` seconds, then forward and answer (a request held in the
                        network past the client's read timeout, delivered late)
    """

    method: str
    path: str
    action: str
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        return self.method.upper() in (method.upper(), "*") and re.search(self.path, path) is not None


@dataclass
class Event:
    method: str
    path: str
    action: str  # "forward" or a fault action
    forwarded: bool
    status: Optional[int]
    at: float


class FaultProxy:
    """Start with ``FaultProxy(upstream_url).start()``; ``.url`` is the proxy's base URL."""

    def __init__(self, upstream: str, port: int = 0) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.events: list[Event] = []
        self.connections = 0  # TCP connections accepted, to check keep-alive
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in separate writes: without this, Nagle's algorithm and
                # the client's delayed ACK add ~40 ms to every answer on a kept-alive connection.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with proxy._lock:
                    proxy.connections += 1

            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                proxy._serve(self)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FaultProxy":
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.events.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if f.times > 0]

    def count(self, method: str, path_regex: str, *, forwarded: bool = True) -> int:
        with self._lock:
            return sum(1 for e in self.events if e.method == method and e.forwarded == forwarded
                       and re.search(path_regex, e.path))

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def _record(self, method: str, path: str, action: str, forwarded: bool,
                status: int | None) -> None:
        with self._lock:
            self.events.append(Event(method, path, action, forwarded, status, time.time()))

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, list, bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_HEADERS}
            conn.request(handler.command, handler.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, response.getheaders(), data
        finally:
            conn.close()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        method, path = handler.command, handler.path
        fault = self._take_fault(method, path)
        action = fault.action if fault else "forward"

        if action in ("drop_before",):
            self._record(method, path, action, False, None)
            self._drop(handler)
            return
        if action == "status":
            self._record(method, path, action, False, fault.status)
            self._reply(handler, fault.status, list(fault.headers.items()), fault.body)
            return

        if action == "hold":
            time.sleep(fault.delay)
        status, headers, data = self._forward(handler, body)
        if action == "drop_after":
            self._record(method, path, action, True, status)
            self._drop(handler)
            return
        if action == "status_after":
            self._record(method, path, action, True, fault.status)
            self._reply(handler, fault.status, list(fault.headers.items()), fault.body)
            return
        self._record(method, path, action, True, status)  # it reached the server: record now
        if action == "delay":
            time.sleep(fault.delay)
        kept = [(k, v) for k, v in headers if k.lower() not in _HOP_HEADERS]
        self._reply(handler, status, kept, data)

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, headers: list, body: bytes) -> None:
        try:
            handler.send_response(status)
            for key, value in headers:
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            handler.wfile.flush()
        except OSError:
            handler.close_connection = True

    @staticmethod
    def _drop(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
