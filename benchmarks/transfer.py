"""Benchmark: remote Spark rows -> local pandas, typed transfer vs. the usual JSON-lines route.

    python benchmarks/transfer.py [--rows 100000 1000000] [--url http://127.0.0.1:8998]

Starts the local Livy-compatible server (unless ``--url``), creates one PySpark session, caches
N rows x (int, double, string, timestamp) remotely, then pulls them through each route:

* ``arrow+zstd``  ``fetch_dataframe`` as ``-o`` uses it (Arrow IPC, zstd, base64, 4 MB chunks)
* ``arrow``       the same without compression
* ``json-typed``  ``fetch_dataframe``'s JSON fallback (JSON rows + Spark schema, typed locally)
* ``json-lines``  ``for line in df.toJSON().collect(): print(line)`` remotely, ``json.loads`` per
                  line locally into ``pandas.DataFrame`` (timestamps stay strings there)

Each measurement runs in a fresh child process attached to the same session, so peak memory is
not muddied by earlier runs: wall time, bytes of HTTP response bodies received, statement
output characters, peak RSS growth (sampled every 5 ms) and tracemalloc's Python-heap peak.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

ROUTES = ("arrow+zstd", "arrow", "json-typed", "json-lines")


class LivyRun:
    """``run(code) -> text/plain`` over plain Livy REST, counting the bytes it receives."""

    def __init__(self, url: str, session_id: int | None = None, timeout: float = 900) -> None:
        import requests

        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["X-Requested-By"] = "benchmark"
        self.timeout = timeout
        self.http_bytes = 0
        self.output_chars = 0
        if session_id is None:
            answer = self.http.post(f"{self.url}/sessions", json={"kind": "pyspark"}, timeout=60)
            answer.raise_for_status()
            session_id = answer.json()["id"]
            self._wait_idle(session_id)
        self.session_id = session_id

    def _wait_idle(self, session_id: int) -> None:
        deadline = time.monotonic() + 180
        while True:
            state = self.http.get(f"{self.url}/sessions/{session_id}", timeout=30).json()["state"]
            if state == "idle":
                return
            if state in ("dead", "error", "killed") or time.monotonic() > deadline:
                raise SystemExit(f"session {session_id} did not start (state {state})")
            time.sleep(0.25)

    def __call__(self, code: str) -> str:
        from fabric_livy_magics.errors import StatementFailed

        base = f"{self.url}/sessions/{self.session_id}/statements"
        answer = self.http.post(base, json={"code": code}, timeout=120)
        answer.raise_for_status()
        self.http_bytes += len(answer.content)
        statement = answer.json()
        delay, deadline = 0.005, time.monotonic() + self.timeout
        while statement["state"] not in ("available", "error", "cancelled"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"statement {statement['id']} still {statement['state']}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.1)
            answer = self.http.get(f"{base}/{statement['id']}", timeout=300)
            answer.raise_for_status()
            self.http_bytes += len(answer.content)
            statement = answer.json()
        output = statement["output"]
        if output["status"] != "ok":
            raise StatementFailed(output.get("ename", ""), output.get("evalue", ""), output.get("traceback"))
        text = output["data"].get("text/plain", "")
        self.output_chars += len(text)
        return text

    def close(self) -> None:
        self.http.delete(f"{self.url}/sessions/{self.session_id}", timeout=60)


class PeakRss:
    """Samples this process's RSS in a thread; ``peak - base`` is the growth during the block."""

    def __enter__(self) -> PeakRss:
        import psutil

        self._proc = psutil.Process()
        self.base = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


def _json_lines(run: LivyRun, name: str) -> Any:
    import pandas as pd

    text = run(f"for line in {name}.toJSON().collect(): print(line)")
    # stderr (PySpark's toJSON deprecation warning) follows stdout in text/plain: skip non-rows.
    return pd.DataFrame([json.loads(line) for line in text.splitlines() if line.startswith("{")])


def child(url: str, session_id: int, name: str, route: str) -> None:
    """One measurement; prints a JSON line for the parent."""
    import gc
    import tracemalloc

    import pandas  # noqa: F401  imported before the baseline: not part of the cost
    import pyarrow  # noqa: F401

    from fabric_livy_magics.transfer import RemoteName, fetch_dataframe

    run = LivyRun(url, session_id)
    gc.collect()
    tracemalloc.start()
    with PeakRss() as rss:
        start = time.perf_counter()
        if route == "json-lines":
            frame = _json_lines(run, name)
        else:
            frame = fetch_dataframe(
                run, RemoteName(name), maxrows=None,
                encoding="json" if route == "json-typed" else "arrow",
                compression=route == "arrow+zstd",
            ).frame
        seconds = time.perf_counter() - start
    _, heap_peak = tracemalloc.get_traced_memory()
    print(json.dumps({
        "route": route, "rows": len(frame), "seconds": seconds, "http_bytes": run.http_bytes,
        "output_chars": run.output_chars, "rss_peak": rss.peak - rss.base, "heap_peak": heap_peak,
        "dtypes": [str(t) for t in frame.dtypes],
    }))


def _start_server() -> tuple[str, Any]:
    from fabric_livy_magics.server.launcher import start_server

    server = start_server(port=0, master="local[2]")
    return server.url, server


def _stop_server(server: Any) -> None:
    if server is not None:
        server.stop()


def _mb(n: float) -> str:
    return f"{n / 1e6:8.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--url", help="An already running Livy-compatible server (default: start one).")
    parser.add_argument("--routes", nargs="+", choices=ROUTES, default=list(ROUTES))
    parser.add_argument("--child", nargs=4, metavar=("URL", "SESSION", "NAME", "ROUTE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, session, name, route = args.child
        child(url, int(session), name, route)
        return 0

    server = None
    url = args.url
    if not url:
        url, server = _start_server()
    run = None
    try:
        run = LivyRun(url)
        print(f"server {url}, session {run.session_id}")
        results = []
        for rows in args.rows:
            name = f"bench_{rows}"
            started = time.perf_counter()
            run(f"{name} = spark.range({rows}).selectExpr('id AS i', 'CAST(id AS DOUBLE) * 1.5 AS d', "
                f"\"concat('row-', CAST(id AS STRING)) AS s\", 'timestamp_seconds(1700000000 + id) AS ts')"
                f".cache()\n_ = {name}.count()\n"
                # Warm both remote code paths so no route pays the session's first-use costs.
                f"_ = {name}.limit(1000).toArrow()\n_ = {name}.limit(1000).toJSON().collect()")
            print(f"created and cached {rows} rows remotely in {time.perf_counter() - started:.1f} s")
            for route in args.routes:
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", url, str(run.session_id), name, route],
                    capture_output=True, text=True, timeout=3600, env=dict(os.environ),
                )
                if proc.returncode != 0:
                    raise SystemExit(f"{route} at {rows} rows failed:\n{proc.stderr[-3000:]}")
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                results.append(result)
                print(f"  {route:<11} {result['seconds']:7.2f} s  {_mb(result['http_bytes'])} MB http  "
                      f"rss +{_mb(result['rss_peak'])} MB  heap {_mb(result['heap_peak'])} MB  {result['dtypes']}")
            run(f"{name}.unpersist()\ndel {name}")
        print()
        print(f"{'rows':>9} {'route':<11} {'time s':>8} {'HTTP MB':>8} {'output MB':>9} {'peak RSS MB':>11} "
              f"{'heap MB':>8}   vs json-lines: time, bytes, RSS")
        for result in results:
            base = next((r for r in results if r["rows"] == result["rows"] and r["route"] == "json-lines"), None)
            ratios = ""
            if base:
                ratios = (f"{base['seconds'] / result['seconds']:5.1f}x faster, "
                          f"{base['http_bytes'] / max(result['http_bytes'], 1):5.1f}x fewer bytes, "
                          f"{base['rss_peak'] / max(result['rss_peak'], 1):5.1f}x less RSS")
            print(f"{result['rows']:>9} {result['route']:<11} {result['seconds']:8.2f} {_mb(result['http_bytes'])} "
                  f"{_mb(result['output_chars']):>9} {_mb(result['rss_peak']):>11} {_mb(result['heap_peak'])}   {ratios}")
    finally:
        if run is not None:
            run.close()
        _stop_server(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
