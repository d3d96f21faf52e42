"""Measure the local server: session start time, trivial statement round trip, memory per session.

Run: .venv/bin/python benchmarks/server_session.py [--sessions 2] [--statements 200] [--master local[2]]

Start time is POST /sessions until the session reports ``idle``. The round trip is POST of ``1 + 1``
until a GET sees it ``available`` (polling without sleeping); the server-side execution time
(``completed - started``) is printed next to it. Memory is the RSS of each session process plus
its JVM (psutil), measured after the statements ran.
"""

from __future__ import annotations

import argparse
import statistics
import time

import psutil
import requests

from fabric_livy_magics.server.launcher import start_server


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _session_rss(server_pid: int, session_id: int) -> tuple[float, float]:
    for child in psutil.Process(server_pid).children(recursive=True):
        try:
            cmd = child.cmdline()
        except psutil.Error:
            continue
        if "fabric_livy_magics.server.repl" in cmd and cmd[cmd.index("--session-id") + 1] == str(session_id):
            python = child.memory_info().rss
            jvm = sum(p.memory_info().rss for p in child.children(recursive=True))
            return python / 2**20, jvm / 2**20
    raise RuntimeError(f"no process for session {session_id}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2, help="sessions started one after another")
    parser.add_argument("--statements", type=int, default=200, help="trivial statements per session")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    server = start_server(port=0, master=args.master)
    http = requests.Session()
    base = server.url
    try:
        for n in range(args.sessions):
            t0 = time.perf_counter()
            sid = http.post(f"{base}/sessions", json={"kind": "pyspark"}, timeout=10).json()["id"]
            while http.get(f"{base}/sessions/{sid}/state", timeout=10).json()["state"] != "idle":
                time.sleep(0.02)
            start_s = time.perf_counter() - t0
            http.post(f"{base}/sessions/{sid}/statements", json={"code": "spark.range(10).count()"}, timeout=10)
            while http.get(f"{base}/sessions/{sid}/state", timeout=10).json()["state"] != "idle":
                time.sleep(0.02)
            round_trips, server_side = [], []
            for _ in range(args.statements):
                t1 = time.perf_counter()
                st = http.post(f"{base}/sessions/{sid}/statements", json={"code": "1 + 1"}, timeout=10).json()
                while True:
                    body = http.get(f"{base}/sessions/{sid}/statements/{st['id']}", timeout=10).json()
                    if body["state"] == "available":
                        break
                round_trips.append((time.perf_counter() - t1) * 1000)
                server_side.append(body["completed"] - body["started"])
                assert body["output"]["data"]["text/plain"] == "2"
            python_mb, jvm_mb = _session_rss(server.pid, sid)
            print(f"session {n}: start {start_s:.2f} s")
            print(
                f"  trivial statement round trip over {args.statements}: median {statistics.median(round_trips):.2f} ms,"
                f" p95 {_pct(round_trips, 0.95):.2f} ms (execution inside the session: median"
                f" {statistics.median(server_side):.1f} ms, p95 {_pct(server_side, 0.95):.1f} ms)"
            )
            print(f"  memory (RSS): session python {python_mb:.0f} MiB + JVM {jvm_mb:.0f} MiB = {python_mb + jvm_mb:.0f} MiB")
        server_rss = psutil.Process(server.pid).memory_info().rss / 2**20
        print(f"server process RSS: {server_rss:.0f} MiB")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
