"""Round-trip overhead of trivial statements against the local server: ours vs. a fixed poller.

    python benchmarks/statement_latency.py [-n 40] [--shape livy|fabric] [--url URL]

Starts the local Livy-compatible server (unless ``--url`` is given), creates one pyspark session,
then runs N statements two ways over the same client and connection pool:

* adaptive: ``LivyClient.run_statement`` (first poll at once, then 5, 10, 20 ms ... capped at 1 s);
* fixed: the same POST, then polls with sleeps of 0.2, 0.5, 0.5, 1, 1, 2 s (sparkmagic's list).

For each statement it prints nothing; at the end, the client-observed latency minus the server's
own execution time (``completed - started``), median and p95, for both, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint
from fabric_livy_magics.livy.models import Statement

WS = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
LH = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
FIXED_SLEEPS = (0.2, 0.5, 0.5, 1.0, 1.0, 2.0)


def fixed_intervals() -> Iterator[float]:
    yield from FIXED_SLEEPS
    while True:
        yield FIXED_SLEEPS[-1]


def run_fixed(client: LivyClient, session_id, code: str) -> Statement:
    """Submit, poll at once, then sleep through the fixed list between polls."""
    statement = client.create_statement(session_id, code)
    sleeps = fixed_intervals()
    while True:
        statement = client.get_statement(session_id, statement.id)
        if statement.is_finished:
            return statement
        time.sleep(next(sleeps))


def measure(run: Callable[[], Statement], n: int) -> tuple[list[float], list[float]]:
    """(overheads ms, server execution ms) for n runs."""
    overheads, executions = [], []
    for _ in range(n):
        began = time.perf_counter()
        statement = run()
        observed = (time.perf_counter() - began) * 1000
        statement.raise_for_status()
        server = float((statement.completed or 0) - (statement.started or 0))
        overheads.append(observed - server)
        executions.append(server)
    return overheads, executions


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="statements per poller (default 40)")
    parser.add_argument("--shape", choices=("livy", "fabric"), default="livy")
    parser.add_argument("--url", help="use a running server instead of starting one")
    parser.add_argument("--code", default="import time; time.sleep(0.01)",
                        help="the statement (default: one that takes 10 ms on the server)")
    args = parser.parse_args(argv)

    server = None
    url = args.url
    if url is None:
        from fabric_livy_magics.server.launcher import start_server

        print("starting the local server ...", file=sys.stderr)
        server = start_server(port=0, master="local[1]")
        url = server.url
    endpoint = FabricEndpoint(WS, LH, base_url=url) if args.shape == "fabric" else LivyEndpoint(url)
    client = LivyClient(endpoint)
    session = None
    try:
        print("creating a session ...", file=sys.stderr)
        session = client.create_session(kind="pyspark", name="latency-benchmark")
        session = client.wait_for_session(session.id, timeout=300)
        for _ in range(3):  # warm up the interpreter and the connection
            client.run_statement(session, args.code)
        round_trips = []
        for _ in range(10):
            began = time.perf_counter()
            client.get_session(session.id)
            round_trips.append((time.perf_counter() - began) * 1000)
        fixed, fixed_exec = measure(lambda: run_fixed(client, session.id, args.code), args.n)
        adaptive, adaptive_exec = measure(lambda: client.run_statement(session, args.code), args.n)
    finally:
        if session is not None:
            client.delete_session(session.id, missing_ok=True)
        client.close()
        if server is not None:
            server.stop()

    print(f"{args.n} statements each, {args.shape} shape, code {args.code!r}")
    print(f"server execution (completed - started): median "
          f"{statistics.median(adaptive_exec + fixed_exec):.1f} ms")
    print(f"one HTTP round trip (GET session, kept-alive connection): median "
          f"{statistics.median(round_trips):.1f} ms")
    print("client-observed latency minus server execution:")
    print(f"  adaptive polling (ours):     median {statistics.median(adaptive):7.1f} ms   "
          f"p95 {p95(adaptive):7.1f} ms")
    print(f"  fixed 0.2/0.5/1/2 s poller:  median {statistics.median(fixed):7.1f} ms   "
          f"p95 {p95(fixed):7.1f} ms")
    print(f"  ratio fixed / adaptive:      median {statistics.median(fixed) / statistics.median(adaptive):7.1f} x"
          f"     p95 {p95(fixed) / p95(adaptive):7.1f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
