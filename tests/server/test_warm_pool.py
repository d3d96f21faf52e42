"""``fabric-livy serve --warm N``: sessions start on pre-started Spark processes (a local starter pool).

One server with ``--warm 1`` serves the module. How fast a warm start is, is measured by
``benchmarks/server_session.py``, not asserted here.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from server_api import LAKEHOUSE, WORKSPACE, Api

from fabric_livy_magics.server.launcher import RunningServer, start_server
from fabric_livy_magics.server.process import find_session_process
from fabric_livy_magics.server.warm_pool import READY_LINE

pytestmark = pytest.mark.slow
FROM_POOL = "taken from the pool of pre-started Spark processes"


def wait_for_ready(server: RunningServer, count: int, timeout: float = 240) -> None:
    """Until the server's log says ``count`` pre-started processes (in all) had Spark up."""
    assert server.log_path is not None
    deadline = time.monotonic() + timeout
    while server.log_path.read_text().count(READY_LINE) < count:
        assert server.alive(), server.log_path.read_text()[-2000:]
        assert time.monotonic() < deadline, f"fewer than {count} pre-started processes after {timeout} s"
        time.sleep(0.1)


def pooled_processes(server: RunningServer) -> list[psutil.Process]:
    return [p for p in psutil.Process(server.pid).children() if "--pool-slot" in p.cmdline()]


def session_log(api: Api, session: int) -> list[str]:
    return api.get(f"/sessions/{session}/log", params={"from": 0, "size": 100000}).json()["log"]


@pytest.fixture(scope="module")
def warm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    log_path = tmp_path_factory.mktemp("warm-server") / "server.log"
    server = start_server(port=0, master="local[1]", log_path=log_path, warm=1)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def first_warm_session(warm_server: RunningServer) -> int:
    """A session created once the pool's process had Spark up, with a runtime SQL setting."""
    wait_for_ready(warm_server, 1)
    api = Api(warm_server.url)
    conf = {"spark.sql.shuffle.partitions": "3", "livy.rsc.sql.num-rows": "2"}
    session = api.post("/sessions", json={"kind": "pyspark", "conf": conf}).json()["id"]
    api.wait_session(session, {"idle"}, timeout=60)
    return session


def test_a_session_starts_on_the_pre_started_process_with_its_sql_settings(
    warm_server: RunningServer, first_warm_session: int
) -> None:
    api = Api(warm_server.url)
    assert any(FROM_POOL in line for line in session_log(api, first_warm_session))
    process = find_session_process(warm_server.pid, first_warm_session)
    assert process is not None and "--pool-slot" in process.cmdline()
    ran = api.run(first_warm_session, "spark.conf.get('spark.sql.shuffle.partitions')")
    assert ran["output"]["data"]["text/plain"] == "'3'"
    rows = api.run(first_warm_session, "select id from range(10)", kind="sql")["output"]["data"]["application/json"]
    assert len(rows["data"]) == 2  # the session's row cap reached the pre-started process
    fabric = Api(warm_server.fabric_url(WORKSPACE, LAKEHOUSE)).get(f"/sessions/{first_warm_session}").json()
    assert fabric["errorInfo"] == []


def test_the_pool_refills_and_a_process_serves_one_session_only(
    warm_server: RunningServer, first_warm_session: int
) -> None:
    api = Api(warm_server.url)
    first = find_session_process(warm_server.pid, first_warm_session)
    assert first is not None
    api.run(first_warm_session, "left_behind = 'secret of the first user'")
    wait_for_ready(warm_server, 2)  # refilled in the background
    second = api.post("/sessions", json={"kind": "pyspark"}).json()["id"]
    api.wait_session(second, {"idle"}, timeout=60)
    assert any(FROM_POOL in line for line in session_log(api, second))
    process = find_session_process(warm_server.pid, second)
    assert process is not None and process.pid != first.pid
    seen = api.run(second, "'left_behind' in globals()")
    assert seen["output"]["data"]["text/plain"] == "False"
    assert api.delete(f"/sessions/{first_warm_session}").json() == {"msg": "deleted"}
    psutil.wait_procs([first], timeout=30)
    assert not first.is_running() or first.status() == psutil.STATUS_ZOMBIE  # ended with its session
    api.delete(f"/sessions/{second}")


@pytest.mark.parametrize(
    ("request_fields", "named"),
    [
        ({"driverMemory": "600m"}, "driverMemory"),
        ({"conf": {"spark.sql.warehouse.dir": "/tmp/elsewhere"}}, "spark.sql.warehouse.dir"),
        ({"conf": {"spark.jars.packages": "org.example:nothing:1.0"}}, "spark.jars.packages"),
    ],
    ids=["driver-memory", "static-sql-setting", "packages"],
)
def test_settings_that_need_a_fresh_jvm_start_cold_and_say_why(
    warm_server: RunningServer, request_fields: dict, named: str
) -> None:
    fabric = Api(warm_server.fabric_url(WORKSPACE, LAKEHOUSE))
    created = fabric.post("/sessions", json=request_fields).json()
    try:
        [notice] = created["errorInfo"]
        assert notice["errorCode"] == "UserSparkConfigMismatch" and notice["source"] == "User"
        assert named in notice["message"] and "fresh Spark process" in notice["message"]
        log = session_log(Api(warm_server.url), created["id"])
        assert any("UserSparkConfigMismatch" in line and named in line for line in log)
        assert not any(FROM_POOL in line for line in log)
    finally:
        fabric.delete(f"/sessions/{created['id']}")  # its fresh process is not needed further


def test_without_a_pool_sessions_start_fresh_as_before(livy_server: RunningServer, pyspark_session: int) -> None:
    """The suite's shared server runs with ``--warm 0`` (see tests/conftest.py)."""
    api = Api(livy_server.url)
    assert not pooled_processes(livy_server)
    assert not any("pre-started" in line for line in session_log(api, pyspark_session))
    process = find_session_process(livy_server.pid, pyspark_session)
    assert process is not None and "--session-id" in process.cmdline()


def test_server_shutdown_leaves_no_pre_started_process_or_jvm(tmp_path: Path) -> None:
    """A claimed process and a refill still starting its JVM both end with the server."""
    server = start_server(port=0, master="local[1]", log_path=tmp_path / "server.log", warm=1)
    try:
        api = Api(server.url)
        wait_for_ready(server, 1)
        session = api.post("/sessions", json={"kind": "pyspark"}).json()["id"]
        api.wait_session(session, {"idle"}, timeout=60)
        deadline = time.monotonic() + 120
        # The refill's spark-submit is a shell script at first: wait for its JVM (the claimed one is the other).
        while len(jvms(tree := psutil.Process(server.pid).children(recursive=True))) < 2:
            assert time.monotonic() < deadline, f"the pool did not start refilling: {names(tree)}"
            time.sleep(0.05)
        assert len(jvms(tree)) == 2, names(tree)
        assert api_pid(server, session) in {p.pid for p in pooled_processes(server)}
        os.kill(server.pid, signal.SIGTERM)
        assert server._popen is not None
        assert server._popen.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(tree, timeout=10)
        assert not alive, f"left behind: {[(p.pid, p.name()) for p in alive]}"
    finally:
        server.stop()


def api_pid(server: RunningServer, session: int) -> int:
    process = find_session_process(server.pid, session)
    assert process is not None
    return process.pid


def names(processes: list[psutil.Process]) -> list[str]:
    return [_name(p) for p in processes]


def jvms(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if "java" in _name(p)]


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.NoSuchProcess:  # a short-lived step of spark-submit's scripts
        return "(gone)"
