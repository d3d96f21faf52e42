"""A seeded sweep of odd requests against a running local server: paths, ids, query values, bodies
and headers a hostile or broken client sends. Goal: 0 internal errors (a 500, or "internal error"
in the server's log); every answer is a 4xx/2xx with a JSON message.

    python -m tests.fuzz.server_sweep [--cases N] [--seed S] [--url URL]

Without ``--url`` it starts a server of its own. Every body carries one part no server accepts and
statements go to sessions that do not exist, so the sweep starts no Spark session or batch and
touches none that other clients of the server use; everything up to that point is exercised,
including the guard's checks (CSRF header, Origin, Host, bearer token, body size).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

WORKSPACE = "0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
LAKEHOUSE = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
FABRIC = f"/v1/workspaces/{WORKSPACE}/lakehouses/{LAKEHOUSE}/livyApi/versions/2023-12-01"

ODD_IDS = [
    "%C2%B2", "%D9%A3", "%EF%BC%91", "9" * 19, "9" * 20, "9" * 60, "9" * 5000, "-1", "+1", "1.0", "1e3", "0x10",
    " 1", "1%20", "%00", "%FF%FE", "%ED%A0%80", "..", "%2E%2E", "null", "None", "NaN", "Infinity", "true",
    "{}", "[]", "%7B%7D", "a" * 300, "00000000-0000-0000-0000-000000000000", "%E2%80%AE1", "%0A1", "\u00a0",
]
ODD_QUERY = ["", "-1", "%C2%B2", "9" * 40, "1e3", "nan", "1.5", "%00", "true", "[1]", "x" * 500]
ODD_NUMBERS = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "9" * 30, "-" + "9" * 30, "1e-400", "4294967296",
               "2147483648", "-1", "0.5", "true", "null", '"1"', "[]", "{}"]
SESSION_FIELDS = ["kind", "name", "conf", "driverMemory", "driverCores", "executorMemory", "executorCores",
                  "numExecutors", "ttl", "jars", "pyFiles", "files", "archives", "queue", "proxyUser", "tags",
                  "heartbeatTimeoutInSecond", "sessionTag", "unknownField"]
BATCH_FIELDS = ["file", "args", "className", "conf", "name", "jars", "pyFiles", "driverCores", "tags"]


@dataclass
class SweepResult:
    cases: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    internal_errors: list[str] = field(default_factory=list)
    not_json: list[str] = field(default_factory=list)
    #: POSTs that started something (a session, a batch, a statement): the sweep means to start none.
    created: list[str] = field(default_factory=list)

    def summary(self) -> str:
        histogram = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items()))
        return (f"cases {self.cases}; statuses {{{histogram}}}; internal errors {len(self.internal_errors)}; "
                f"non-JSON error answers {len(self.not_json)}; things started {len(self.created)}")


def _path(rng: random.Random, prefix: str) -> tuple[str, str]:
    """(method, path) with an odd id or query somewhere."""
    odd = rng.choice(ODD_IDS)
    query = rng.choice(ODD_QUERY)
    choices = [
        ("GET", f"/sessions/{odd}"), ("GET", f"/sessions/{odd}/statements"), ("GET", f"/sessions/{odd}/log"),
        ("GET", f"/sessions/{odd}/state"), ("GET", f"/sessions/0/statements/{odd}"), ("GET", f"/batches/{odd}"),
        ("GET", f"/batches/{odd}/log"), ("GET", f"/batches/{odd}/state"), ("DELETE", f"/sessions/{odd}"),
        ("DELETE", f"/batches/{odd}"), ("POST", f"/sessions/{odd}/statements/{odd}/cancel"),
        ("POST", f"/sessions/{odd}/reset-timeout"), ("GET", f"/highConcurrencySessions/{odd}"),
        ("GET", f"/sessions?from={query}&size={rng.choice(ODD_QUERY)}"),
        ("GET", f"/sessions?$top={query}&$skip={rng.choice(ODD_QUERY)}&$count={query}"),
        ("GET", f"/batches?from={query}&size={query}"), ("GET", f"/sessions/{odd}/log?from={query}&size={query}"),
        ("GET", f"/sessions/0/statements/0?from={query}&size={query}"), ("GET", f"/{odd}"),
        ("PUT", "/sessions"), ("PATCH", f"/sessions/{odd}"), ("GET", "/version"),
    ]
    method, path = rng.choice(choices)
    if prefix == FABRIC and rng.random() < 0.1:
        prefix = prefix.replace("livyApi", rng.choice(["livyapi", "LIVYAPI", "sparkApi", "%C2%B2"]))
    return method, prefix + path


def _body(rng: random.Random) -> tuple[str, bytes]:
    """(route, body): a session, batch, statement or completion request with one odd part."""
    route = rng.choice(["/sessions", "/batches", "/sessions/{sid}/statements", "/sessions/{sid}/completion"])
    fields = BATCH_FIELDS if route == "/batches" else SESSION_FIELDS
    shape = rng.random()
    if shape < 0.15:  # not JSON, or JSON that is not an object
        text = rng.choice(["{", "[1,2]", '"text"', "null", "{'a': 1}", "\x00\x01", '{"a": 1,}', "{}}", " [ ",
                           "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"), "[" * 5000 + "]" * 5000])
        return route, text.encode("utf-8", "surrogatepass")
    parts = []
    if shape < 0.25:  # deep nesting inside a field
        depth = rng.choice([100, 1000, 10_000, 200_000])
        parts.append('"%s": ' % rng.choice(fields) + "[" * depth + "]" * depth)
    for key in rng.sample(fields, k=rng.randint(0 if parts else 1, 4)):
        value = rng.choice([*ODD_NUMBERS, '"%s"' % ("x" * rng.choice([0, 1, 10_000])), '{"k": %s}' % rng.choice(ODD_NUMBERS),
                            "[%s]" % rng.choice(ODD_NUMBERS), '"\\u00b2"', '"\\ud800"'])
        parts.append(f'"{key}": {value}')
    if "statements" in route or "completion" in route:
        parts.append(rng.choice(['"code": "1"', '"code": 1', '"code": null', '"cursor": 1e400', '"sourceId": 1e400',
                                 '"kind": "\\u00b2"', '"cursor": "\\u00b2"']))
    rng.shuffle(parts)
    # One part no server accepts, so no body of the sweep starts a Spark session or a batch; last,
    # because a repeated key's last value wins.
    parts.append(rng.choice(['"numExecutors": -1', '"driverCores": 1e400', '"conf": "not-a-map"', '"kind": 7']))
    return route, ("{" + ", ".join(parts) + "}").encode()


def _headers(rng: random.Random, port: int | None) -> dict[str, str]:
    """Mostly a well-behaved client's headers; sometimes a browser's, a rebinding page's or junk."""
    headers = {"X-Requested-By": "sweep"} if rng.random() < 0.9 else {}
    if rng.random() < 0.05:
        headers["Content-Length"] = rng.choice(["-1", "abc", "9" * 30, "0"])
    if rng.random() < 0.1:
        headers["Content-Type"] = rng.choice(["text/plain", "application/x-www-form-urlencoded", "", "\u00b2"])
    if rng.random() < 0.08:
        headers["Origin"] = rng.choice(["https://evil.example", "null", f"http://localhost:{port}", "http://[::1",
                                        "http://127.0.0.1", "\u00b2", "x" * 300, "file://"])
    if rng.random() < 0.05:
        headers["Host"] = rng.choice(["evil.example", f"localhost:{port}", "[", "[::1]", "127.0.0.1:99999",
                                      "\u00b2", "", "a" * 500, "127.0.0.1.nip.io"])
    if rng.random() < 0.05:
        headers["Authorization"] = rng.choice(["Bearer", "Bearer ", "Basic eDp5", "bearer x", "Bearer " + "x" * 5000,
                                               "\u00b2", "Negotiate abc"])
    return headers


def run_sweep(base_url: str, cases: int, seed: int, *, log_text: Any = None) -> SweepResult:
    """Send ``cases`` odd requests to the server at ``base_url``; count what came back.

    ``log_text()`` (optional) returns the server's log, checked for internal errors at the end."""
    rng = random.Random(seed)
    result = SweepResult()
    http = requests.Session()
    base_url = base_url.rstrip("/")
    port = urlsplit(base_url).port
    for _ in range(cases):
        prefix = rng.choice(["", FABRIC])
        headers = _headers(rng, port)
        if rng.random() < 0.55:
            method, path = _path(rng, prefix)
            data = None
        else:
            route, data = _body(rng)
            path = prefix + route.replace("{sid}", rng.choice(["%C2%B2", "9" * 60, "x"]))
            method = "POST"
        try:
            answer = http.request(method, base_url + path, data=data, headers=headers, timeout=30)
        except requests.RequestException as exc:  # a refused header value, say: the client's doing
            result.statuses[0] += 1
            if "Connection aborted" in str(exc) or "RemoteDisconnected" in str(exc):
                result.internal_errors.append(f"{method} {path[:80]}: connection dropped ({exc})")
            result.cases += 1
            continue
        result.cases += 1
        result.statuses[answer.status_code] += 1
        if method == "POST" and answer.status_code in (200, 201, 202):
            result.created.append(f"{method} {path[:80]} -> {answer.status_code} {answer.text[:120]}")
        if answer.status_code >= 500 and answer.status_code != 503:
            result.internal_errors.append(f"{method} {path[:80]} -> {answer.status_code} {answer.text[:200]}")
        elif answer.status_code >= 400:
            try:
                json.loads(answer.text)
            except ValueError:
                if answer.text.strip() not in ("Invalid HTTP request received.",):
                    result.not_json.append(f"{method} {path[:80]} -> {answer.status_code} {answer.text[:120]}")
    if log_text is not None:
        log = log_text()
        for line in log.splitlines():
            if "internal error" in line or line.startswith("Traceback"):
                result.internal_errors.append(f"server log: {line[:200]}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sweep the local server with odd requests.")
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", help="A running server (default: start one).")
    args = parser.parse_args(argv)
    server = None
    url = args.url
    if url is None:
        import tempfile
        from pathlib import Path

        from fabric_livy_magics.server.launcher import start_server

        log_path = Path(tempfile.mkdtemp()) / "server.log"
        server = start_server(port=0, master="local[1]", log_path=log_path)
        url = server.url
    try:
        log_text = (lambda: server.log_path.read_text(errors="replace")) if server and server.log_path else None
        result = run_sweep(url, args.cases, args.seed, log_text=log_text)
    finally:
        if server is not None:
            server.stop()
    print(result.summary())
    for line in result.internal_errors[:20] + result.not_json[:20] + result.created[:20]:
        print("  " + line)
    return 1 if result.internal_errors or result.not_json or result.created else 0


if __name__ == "__main__":
    sys.exit(main())
