"""Statement overhead against the local server: wait-for-change vs. our polling vs. a fixed poller.

    python benchmarks/statement_latency.py [-n 15] [--shape livy|fabric] [--durations 0.01,0.3,1,2]

Starts the local Livy-compatible server (unless ``--url`` is given), creates one pyspark session,
then, for statements that sleep each of ``--durations`` seconds on the server, runs N of them
three ways over the same client and connection pool:

* wait: ``run_statement`` where the server offers ``?wait=`` (each GET returns at the change);
* poll: ``run_statement`` polling on ``STATEMENT_POLL`` (what Apache Livy and Fabric get);
* before: the same, polling on the schedule used until wait-for-change existed (5 ms doubling
  to 1 s);
* fixed: the same POST, then polls with sleeps of 0.2, 0.5, 0.5, 1, 1, 2 s (sparkmagic's list),
  the baseline.

Overhead = client-observed latency minus the server's own execution time (``completed -
started``). It prints median and p95 overhead and requests per statement for each, the ratio
to the baseline, and the polling schedule's requests in a statement's first minute (Fabric
allows about 150 per minute per session).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint
from fabric_livy_magics.livy.models import Statement
from fabric_livy_magics.livy.polling import STATEMENT_POLL, PollPolicy

WS = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
LH = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
FIXED_SLEEPS = (0.2, 0.5, 0.5, 1.0, 1.0, 2.0)
BEFORE_POLL = PollPolicy(first=0.005, factor=2.0, cap=1.0)


def fixed_intervals() -> Iterator[float]:
    yield from FIXED_SLEEPS
    while True:
        yield FIXED_SLEEPS[-1]


def run_fixed(client: LivyClient, session_id: Any, code: str) -> Statement:
    """Submit, poll at once, then sleep through the fixed list between polls."""
    statement = client.create_statement(session_id, code)
    sleeps = fixed_intervals()
    while True:
        statement = client.get_statement(session_id, statement.id)
        if statement.is_finished:
            return statement
        time.sleep(next(sleeps))


def run_before(client: LivyClient, session: Any, code: str) -> Statement:
    statement = client.create_statement(session, code)
    return client.wait_for_statement(session, statement.id, poll=BEFORE_POLL)


class Counted:
    """Counts the requests a client sends."""

    def __init__(self, client: LivyClient) -> None:
        self.count = 0
        send = client.http.send

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return send(*args, **kwargs)

        client.http.send = counting  # type: ignore[method-assign]


def measure(run: Callable[[], Statement], n: int, counter: Counted) -> tuple[list[float], float]:
    """(overheads ms, requests per statement) for n runs."""
    overheads = []
    before = counter.count
    for _ in range(n):
        began = time.perf_counter()
        statement = run()
        observed = (time.perf_counter() - began) * 1000
        statement.raise_for_status()
        overheads.append(observed - float((statement.completed or 0) - (statement.started or 0)))
    return overheads, (counter.count - before) / n


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=15, help="statements per way and duration (default 15)")
    parser.add_argument("--shape", choices=("livy", "fabric"), default="livy")
    parser.add_argument("--url", help="use a running server instead of starting one")
    parser.add_argument("--durations", default="0.01,0.3,1,2",
                        help="seconds each statement sleeps on the server, comma-separated")
    args = parser.parse_args(argv)
    durations = [float(x) for x in args.durations.split(",")]

    server = None
    url = args.url
    if url is None:
        from fabric_livy_magics.server.launcher import start_server

        print("starting the local server ...", file=sys.stderr)
        server = start_server(port=0, master="local[1]")
        url = server.url
    endpoint = FabricEndpoint(WS, LH, base_url=url) if args.shape == "fabric" else LivyEndpoint(url)
    client = LivyClient(endpoint)
    counter = Counted(client)
    session = None
    rows = []
    try:
        print("creating a session ...", file=sys.stderr)
        session = client.create_session(kind="pyspark", name="latency-benchmark")
        session = client.wait_for_session(session.id, timeout=300)
        for _ in range(3):  # warm up the interpreter and the connection
            client.run_statement(session, "1")
        offered = client.http.statement_wait_ms
        for seconds in durations:
            code = f"import time; time.sleep({seconds})"
            print(f"statements of {seconds:g} s ...", file=sys.stderr)
            client.http.use_statement_wait, client.http.statement_wait_ms = True, offered
            waited = measure(lambda: client.run_statement(session, code), args.n, counter)
            client.http.use_statement_wait, client.http.statement_wait_ms = False, None
            polled = measure(lambda: client.run_statement(session, code), args.n, counter)
            before = measure(lambda: run_before(client, session, code), args.n, counter)
            fixed = measure(lambda: run_fixed(client, session.id, code), args.n, counter)
            rows.append((seconds, waited, polled, before, fixed))
    finally:
        if session is not None:
            client.delete_session(session.id, missing_ok=True)
        client.close()
        if server is not None:
            server.stop()

    print(f"{args.n} statements per way and duration, {args.shape} shape; overhead = observed - server execution")
    print(f"server offers ?wait= up to {offered} ms" if offered else "server does not offer ?wait=")
    print(f"{'statement':>10} | {'wait: median  p95  req':>23} | {'poll: median  p95  req':>23} | "
          f"{'before: median  p95  req':>25} | {'fixed: median  p95  req':>24} | fixed/wait fixed/poll before/poll")
    for seconds, *ways in rows:
        cells = " | ".join(f"{statistics.median(o):10.1f} {p95(o):6.1f} {r:5.1f}" for o, r in ways)
        w, p, b, f = (max(statistics.median(o), 0.1) for o, _ in ways)
        print(f"{seconds:>9g}s | {cells} | {f / w:9.1f}x {f / p:8.1f}x {b / p:10.1f}x")
    print(f"polling schedule: {STATEMENT_POLL.requests_in(60)} requests in a statement's first minute "
          f"(fixed list: {sum(1 for _ in _first_minute(fixed_intervals()))})")
    return 0


def _first_minute(intervals: Iterator[float]) -> Iterator[float]:
    elapsed = 0.0
    yield 0.0
    for interval in intervals:
        elapsed += interval
        if elapsed > 60:
            return
        yield interval


if __name__ == "__main__":
    sys.exit(main())
