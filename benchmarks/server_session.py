"""Measure the local server: session start time, trivial statement round trip, memory per session.

Run: .venv/bin/python benchmarks/server_session.py [--sessions 2] [--statements 200] [--master local[2]] [--warm-sessions 3]

Start time is POST /sessions until the session reports ``idle``. The round trip is POST of ``1 + 1``
until a GET sees it ``available`` (polling without sleeping); the server-side execution time
(``completed - started``) is printed next to it. Memory is the RSS of each session process plus
its JVM (psutil), measured after the statements ran.

Each figure is printed as a ratio against a baseline measured in the same run:
- start: a bare PySpark process (a fresh ``python`` doing ``SparkSession.builder.master(<same
  master>).getOrCreate()`` with the server's ``spark.ui.enabled=false``, then ``range(10).count()``),
  timed from spawn to the end of that action; compared with POST-until-idle, and with
  POST-until-idle plus the session's first ``spark.range(10).count()``;
- round trip: ``GET /version`` on the same kept-alive connection (HTTP and the server's event loop
  without a session);
- memory: the RSS of that bare process (Python + JVM) after its action.

Then warm against cold starts, side by side with their ratio: the sessions above start cold (a
server without a pool, ``--warm 0``); a second server with ``--warm 1`` starts ``--warm-sessions``
sessions, each created once the pool's process has Spark up (its log says so), timed the same way
(POST until idle, and until the first ``spark.range(10).count()`` is done). The pool's own start
happens in the background before each create and is not in the warm figure.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

import psutil
import requests

from fabric_livy_magics.server.launcher import RunningServer, start_server
from fabric_livy_magics.server.process import find_session_process
from fabric_livy_magics.server.warm_pool import READY_LINE


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _session_rss(server_pid: int, session_id: int) -> tuple[float, float]:
    child = find_session_process(server_pid, session_id)
    if child is None:
        raise RuntimeError(f"no process for session {session_id}")
    return _tree_rss(child.pid)


BARE_PYSPARK = """\
import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.master(sys.argv[1]).config("spark.ui.enabled", "false").getOrCreate()
assert spark.range(10).count() == 10
print("ready", flush=True)
sys.stdin.readline()
spark.stop()
"""


def _tree_rss(pid: int) -> tuple[float, float]:
    proc = psutil.Process(pid)
    return proc.memory_info().rss / 2**20, sum(p.memory_info().rss for p in proc.children(recursive=True)) / 2**20


def bare_pyspark(master: str) -> tuple[float, float, float]:
    """Seconds from spawn to the end of one action, and the RSS (Python, JVM) in MiB after it."""
    with tempfile.TemporaryDirectory(prefix="bare-pyspark-") as cwd:
        t0 = time.perf_counter()
        child = subprocess.Popen(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", BARE_PYSPARK, master], cwd=cwd, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        try:
            assert child.stdout is not None and child.stdin is not None
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError(f"bare PySpark failed (exit {child.wait(timeout=60)})")
            elapsed = time.perf_counter() - t0
            python_mb, jvm_mb = _tree_rss(child.pid)
            child.stdin.write("\n")
            child.stdin.flush()
            child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=10)
    return elapsed, python_mb, jvm_mb


def _start_session(http: requests.Session, base: str) -> tuple[int, float, float]:
    """(session id, seconds from POST until idle, seconds until its first action is done)."""
    t0 = time.perf_counter()
    sid = http.post(f"{base}/sessions", json={"kind": "pyspark"}, timeout=10).json()["id"]
    while http.get(f"{base}/sessions/{sid}/state", timeout=10).json()["state"] != "idle":
        time.sleep(0.01)
    start_s = time.perf_counter() - t0
    http.post(f"{base}/sessions/{sid}/statements", json={"code": "spark.range(10).count()"}, timeout=10)
    while http.get(f"{base}/sessions/{sid}/state", timeout=10).json()["state"] != "idle":
        time.sleep(0.01)
    return sid, start_s, time.perf_counter() - t0


def _wait_ready(server: RunningServer, count: int, timeout: float = 300) -> None:
    assert server.log_path is not None
    deadline = time.monotonic() + timeout
    while server.log_path.read_text().count(READY_LINE) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the pool had fewer than {count} processes ready after {timeout:g} s")
        time.sleep(0.05)


def warm_starts(master: str, count: int) -> list[tuple[float, float]]:
    """(POST until idle, until the first action done) of ``count`` sessions taken from a pool of one."""
    server = start_server(port=0, master=master, warm=1)
    http = requests.Session()
    http.headers["X-Requested-By"] = "benchmark"
    times = []
    try:
        for n in range(count):
            _wait_ready(server, n + 1)
            sid, start_s, first_action_s = _start_session(http, server.url)
            if not any("pre-started" in line for line in http.get(f"{server.url}/sessions/{sid}/log", timeout=10).json()["log"]):
                raise RuntimeError(f"session {sid} did not start from the pool")
            times.append((start_s, first_action_s))
            http.delete(f"{server.url}/sessions/{sid}", timeout=10)
    finally:
        server.stop()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2, help="sessions started one after another")
    parser.add_argument("--statements", type=int, default=200, help="trivial statements per session")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--warm-sessions", type=int, default=3, help="sessions started from a pool of one (0: skip)")
    args = parser.parse_args()
    cold: list[tuple[float, float]] = []
    bare_s, bare_python_mb, bare_jvm_mb = bare_pyspark(args.master)
    bare_mb = bare_python_mb + bare_jvm_mb
    print(f"baseline bare PySpark ({args.master}): start + one action {bare_s:.2f} s,"
          f" RSS python {bare_python_mb:.0f} MiB + JVM {bare_jvm_mb:.0f} MiB = {bare_mb:.0f} MiB")
    server = start_server(port=0, master=args.master)
    http = requests.Session()
    http.headers["X-Requested-By"] = "benchmark"  # Livy's CSRF rule, which the server follows
    base = server.url
    try:
        versions = []
        for _ in range(args.statements):
            t1 = time.perf_counter()
            http.get(f"{base}/version", timeout=10).raise_for_status()
            versions.append((time.perf_counter() - t1) * 1000)
        version_ms = statistics.median(versions)
        print(f"baseline GET /version over {args.statements} (kept-alive): median {version_ms:.2f} ms,"
              f" p95 {_pct(versions, 0.95):.2f} ms")
        for n in range(args.sessions):
            sid, start_s, first_action_s = _start_session(http, base)
            cold.append((start_s, first_action_s))
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
            round_trip_ms = statistics.median(round_trips)
            print(f"session {n}: start (POST until idle) {start_s:.2f} s = {start_s / bare_s:.2f}x bare PySpark;"
                  f" until its first action done {first_action_s:.2f} s = {first_action_s / bare_s:.2f}x")
            print(
                f"  trivial statement round trip over {args.statements}: median {round_trip_ms:.2f} ms"
                f" = {round_trip_ms / version_ms:.1f}x GET /version,"
                f" p95 {_pct(round_trips, 0.95):.2f} ms (execution inside the session: median"
                f" {statistics.median(server_side):.1f} ms, p95 {_pct(server_side, 0.95):.1f} ms)"
            )
            session_mb = python_mb + jvm_mb
            print(f"  memory (RSS): session python {python_mb:.0f} MiB + JVM {jvm_mb:.0f} MiB = {session_mb:.0f} MiB"
                  f" = {session_mb / bare_mb:.2f}x bare PySpark")
        server_rss = psutil.Process(server.pid).memory_info().rss / 2**20
        print(f"server process RSS: {server_rss:.0f} MiB")
    finally:
        server.stop()
    if args.warm_sessions > 0 and cold:
        warm = warm_starts(args.master, args.warm_sessions)
        print(f"\nwarm (--warm 1, {len(warm)} sessions) against cold (--warm 0, {len(cold)} sessions), medians:")
        for label, index in (("start (POST until idle)", 0), ("until its first action done", 1)):
            cold_s = statistics.median(t[index] for t in cold)
            warm_s = statistics.median(t[index] for t in warm)
            print(f"  {label:<28} cold {cold_s:6.2f} s | warm {warm_s:6.3f} s | cold/warm {cold_s / warm_s:6.1f}x"
                  f"   (warm each: {', '.join(f'{t[index]:.3f}' for t in warm)} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
