"""A Spark standalone master and worker from the installed PySpark, driven through ``--master``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from server_api import Api

from fabric_livy_magics.server.launcher import start_server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spark_class(spark_home: Path, args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(  # noqa: S603
            [str(spark_home / "bin" / "spark-class"), *args],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )  # fmt: skip


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    tree = []
    try:
        tree = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue
    psutil.wait_procs(tree, timeout=10)


@pytest.fixture(scope="module")
def standalone_master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    work = tmp_path_factory.mktemp("standalone")
    env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_WORKER_DIR": str(work / "worker"), "SPARK_LOG_DIR": str(work)}
    port, ui = _free_port(), _free_port()
    master = _spark_class(
        spark_home, ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)],
        work / "master.log", env,
    )  # fmt: skip
    worker = None
    try:
        url = f"spark://127.0.0.1:{port}"
        worker = _spark_class(
            spark_home,
            ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--webui-port", str(_free_port()),
             "--cores", "2", "--memory", "1g", url],
            work / "worker.log", env,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=2) as answer:  # noqa: S310
                    if [w for w in json.load(answer).get("workers", []) if w.get("state") == "ALIVE"]:
                        break
            except OSError:
                pass
            assert master.poll() is None, (work / "master.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the standalone worker did not register"
            time.sleep(0.5)
        yield url
    finally:
        if worker is not None:
            _stop_group(worker)
        _stop_group(master)


@pytest.mark.slow
def test_session_runs_on_a_standalone_cluster(standalone_master: str, tmp_path: Path) -> None:
    server = start_server(port=0, master=standalone_master, log_path=tmp_path / "server.log")
    try:
        api = Api(server.url)
        session = api.post("/sessions", json={"kind": "pyspark", "conf": {"spark.executor.memory": "512m"}}).json()["id"]
        body = api.wait_session(session, {"idle", "error", "dead"})
        assert body["state"] == "idle", body["log"]
        assert body["appId"].startswith("app-")
        result = api.run(session, "sc.master, sc.parallelize(range(100), 4).map(lambda x: x * 2).sum()")
        assert result["output"]["data"]["text/plain"] == f"('{standalone_master}', 9900)"
        sql = api.run(session, "select count(*) as n from range(1000)", kind="sql")
        assert sql["output"]["data"]["application/json"]["data"] == [[1000]]
    finally:
        server.stop()
