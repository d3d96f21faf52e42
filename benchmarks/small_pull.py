"""Small ``-o`` pulls against the local server: one statement each, and the first one of a session.

    python benchmarks/small_pull.py [-n 15] [--rows 3]

Starts the local Livy-compatible server and, for each of two fresh sessions — one started as
usual (the server warms Spark's Arrow path in the background once the session is idle), one
started with ``spark.fabricLivy.warmup=false`` (the baseline) — waits until it is idle plus 5 s
(a person typing their first cell), then pulls a ``--rows``-row DataFrame into pandas the way
``%%livy -o`` does, ``-n`` times. It prints:

* a trivial statement's round trip (``1``), the floor any pull is measured against;
* the first pull of each session, and the median and p95 of the next ones, with the statements
  each pull took;
* first pull / next pulls, per session, and baseline first / warmed first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.transfer import RemoteName, fetch_dataframe

MAKE_FRAME = ("frame = spark.createDataFrame([(i, 'name %d' % i, i * 1.5) for i in range({rows})], "
              "'id long, name string, score double')")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(action: Callable[[], Any]) -> float:
    began = time.perf_counter()
    action()
    return (time.perf_counter() - began) * 1000


def one_session(client: LivyClient, *, warm: bool, rows: int, n: int) -> dict[str, Any]:
    conf = {} if warm else {"spark.fabricLivy.warmup": "false"}
    session = client.wait_for_session(client.create_session(kind="pyspark", conf=conf).id, timeout=300)
    statements = [0]

    def run(code: str) -> str:
        statements[0] += 1
        statement = client.run_statement(session, code)
        return (statement.output.text or "") if statement.output else ""

    try:
        time.sleep(5)  # the person reads the start message and types
        run(MAKE_FRAME.format(rows=rows))
        trivial = [timed(lambda: run("1")) for _ in range(n)]
        pulls, counts = [], []
        for _ in range(n + 1):
            statements[0] = 0
            pulls.append(timed(lambda: fetch_dataframe(run, RemoteName("frame"), maxrows=2500)))
            counts.append(statements[0])
        return {"trivial": trivial, "first": pulls[0], "next": pulls[1:], "statements": counts}
    finally:
        client.delete_session(session.id, missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=15, help="pulls after the first, per session (default 15)")
    parser.add_argument("--rows", type=int, default=3, help="rows of the pulled DataFrame (default 3)")
    args = parser.parse_args(argv)

    from fabric_livy_magics.server.launcher import start_server

    print("starting the local server ...", file=sys.stderr)
    server = start_server(port=0, master="local[1]")
    try:
        with LivyClient(server.url) as client:
            print("session without warm-up (baseline) ...", file=sys.stderr)
            cold = one_session(client, warm=False, rows=args.rows, n=args.n)
            print("session as started by default ...", file=sys.stderr)
            warm = one_session(client, warm=True, rows=args.rows, n=args.n)
    finally:
        server.stop()

    trivial = cold["trivial"] + warm["trivial"]
    print(f"{args.rows}-row pulls into pandas, {args.n} after the first, per session; local[1]")
    print(f"trivial statement round trip: median {statistics.median(trivial):6.1f} ms")
    for label, result in (("baseline (no warm-up)", cold), ("default (warm-up)", warm)):
        following = result["next"]
        print(f"{label:>22}: first {result['first']:7.1f} ms | next median {statistics.median(following):6.1f} ms "
              f"p95 {p95(following):6.1f} ms | statements per pull {max(result['statements'])} | "
              f"first/next {result['first'] / statistics.median(following):5.1f}x")
    print(f"first pull, baseline / warmed: {cold['first'] / warm['first']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
