"""Session and statement state machines: queueing, cancel, a dying process, TTL, shutdown."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
from server_api import Api

from fabric_livy_magics.server.launcher import RunningServer, start_server
from fabric_livy_magics.server.process import find_session_process


def _wait_running(api: Api, path: str) -> dict:
    return api.wait(path, {"running"}, timeout=60, passing={"waiting"})


def test_cancel_stops_a_long_spark_job_and_session_stays_usable(livy: Api, pyspark_session: int) -> None:
    code = "sc.parallelize(range(4), 2).map(lambda x: __import__('time').sleep(120) or x).count()"
    statement = livy.post(f"/sessions/{pyspark_session}/statements", json={"code": code}).json()
    path = f"/sessions/{pyspark_session}/statements/{statement['id']}"
    _wait_running(livy, path)
    time.sleep(1.0)  # let the job's tasks start
    assert livy.get(f"/sessions/{pyspark_session}").json()["state"] == "busy"
    started = time.monotonic()
    assert livy.post(f"{path}/cancel").json() == {"msg": "canceled"}
    final = livy.wait_statement(path, timeout=60)
    assert final["state"] == "cancelled"
    assert time.monotonic() - started < 30
    assert final["output"]["status"] == "error"
    assert livy.wait_session(pyspark_session, {"idle"})["state"] == "idle"
    assert livy.run(pyspark_session, "spark.range(3).count()")["output"]["data"]["text/plain"] == "3"


def test_cancel_interrupts_plain_python_code(livy: Api, pyspark_session: int) -> None:
    statement = livy.post(f"/sessions/{pyspark_session}/statements", json={"code": "import time\ntime.sleep(120)"}).json()
    path = f"/sessions/{pyspark_session}/statements/{statement['id']}"
    _wait_running(livy, path)
    livy.post(f"{path}/cancel")
    final = livy.wait_statement(path, timeout=30)
    assert final["state"] == "cancelled"
    assert final["output"]["ename"] == "KeyboardInterrupt"
    assert livy.run(pyspark_session, "'alive'")["output"]["data"]["text/plain"] == "'alive'"


def test_cancel_that_arrives_before_the_process_takes_the_statement_up(
    livy: Api, livy_server: RunningServer, pyspark_session: int
) -> None:
    """The server calls a statement running when it hands it to the session process. Here the
    process is paused (SIGSTOP) while the statement and its cancel are sent, so the cancel is read
    before the statement starts: it must still stop it (it used to be dropped, leaving the
    statement cancelling while the code ran on)."""
    child = find_session_process(livy_server.pid, pyspark_session)
    assert child is not None, f"no process for session {pyspark_session}"
    base = f"/sessions/{pyspark_session}/statements"
    child.suspend()
    try:
        statement = livy.post(base, json={"code": "import time\ntime.sleep(60)"}).json()
        assert livy.get(f"{base}/{statement['id']}").json()["state"] == "running"
        livy.post(f"{base}/{statement['id']}/cancel")
    finally:
        child.resume()
    final = livy.wait_statement(f"{base}/{statement['id']}", timeout=15)
    assert final["state"] == "cancelled", final
    assert final["output"]["ename"] == "KeyboardInterrupt"
    assert livy.run(pyspark_session, "'alive'")["output"]["data"]["text/plain"] == "'alive'"


def test_waiting_statement_cancels_at_once(livy: Api, pyspark_session: int) -> None:
    busy = livy.post(f"/sessions/{pyspark_session}/statements", json={"code": "import time\ntime.sleep(1.5)"}).json()
    queued = livy.post(f"/sessions/{pyspark_session}/statements", json={"code": "'never'"}).json()
    assert queued["state"] == "waiting"
    livy.post(f"/sessions/{pyspark_session}/statements/{queued['id']}/cancel")
    assert livy.get(f"/sessions/{pyspark_session}/statements/{queued['id']}").json()["state"] == "cancelled"
    assert livy.wait_statement(f"/sessions/{pyspark_session}/statements/{busy['id']}")["state"] == "available"


@pytest.fixture(scope="module")
def doomed_sessions(livy: Api) -> dict[str, int]:
    """Two sessions started together: one gets its process killed, one idles past a 3 s TTL."""
    kill = livy.post("/sessions", json={"kind": "pyspark", "name": "to-kill"}).json()["id"]
    ttl = livy.post("/sessions", json={"kind": "pyspark", "ttl": "3s"}).json()["id"]
    return {"kill": kill, "ttl": ttl}


def test_statement_posted_while_starting_waits_then_runs(livy: Api, doomed_sessions: dict[str, int]) -> None:
    session = doomed_sessions["ttl"]
    assert livy.get(f"/sessions/{session}").json()["state"] in ("not_started", "starting")
    statement = livy.post(f"/sessions/{session}/statements", json={"code": "6 * 7"})
    assert statement.status_code == 201 and statement.json()["state"] == "waiting"
    final = livy.wait_statement(f"/sessions/{session}/statements/{statement.json()['id']}", timeout=180)
    assert final["output"]["data"]["text/plain"] == "42"


def test_idle_session_past_ttl_is_stopped(livy: Api, livy_server: RunningServer, doomed_sessions: dict[str, int]) -> None:
    session = doomed_sessions["ttl"]
    livy.wait_session(session, {"idle", "dead"})
    body = livy.wait_session(session, {"dead"}, timeout=30)
    assert any("ttl" in line for line in body["log"])
    assert find_session_process(livy_server.pid, session) is None


def test_killed_process_makes_session_dead_with_log_kept(livy: Api, livy_server: RunningServer, doomed_sessions: dict[str, int]) -> None:
    session = doomed_sessions["kill"]
    livy.wait_session(session, {"idle"})
    running = livy.post(f"/sessions/{session}/statements", json={"code": "import time\ntime.sleep(60)"}).json()
    _wait_running(livy, f"/sessions/{session}/statements/{running['id']}")
    child = find_session_process(livy_server.pid, session)
    assert child is not None, f"no process for session {session}"
    jvms = child.children(recursive=True)
    child.kill()
    body = livy.wait_session(session, {"dead"}, timeout=30)
    assert body["state"] == "dead"
    log = livy.get(f"/sessions/{session}/log", params={"from": 0, "size": 100000}).json()["log"]
    assert any("exited" in line for line in log) and any("WARN" in line or "log level" in line for line in log)
    failed = livy.get(f"/sessions/{session}/statements/{running['id']}").json()
    assert failed["state"] == "error" and failed["output"]["status"] == "error"
    refused = livy.post(f"/sessions/{session}/statements", json={"code": "1"})
    assert refused.status_code == 409
    assert "dead" in refused.json()["msg"]
    psutil.wait_procs(jvms, timeout=20)
    assert not [p for p in jvms if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert livy.delete(f"/sessions/{session}").json() == {"msg": "deleted"}
    assert livy.get(f"/sessions/{session}").status_code == 404


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_server_shutdown_leaves_no_session_process_or_jvm(tmp_path, sig) -> None:
    """The server itself stops its sessions on a signal: checked before RunningServer.stop(),
    which would otherwise clean up leftovers and hide an orphaned JVM."""
    server = start_server(port=0, master="local[1]", log_path=tmp_path / "server.log")
    try:
        api = Api(server.url)
        session = api.post("/sessions", json={"kind": "pyspark"}).json()["id"]
        api.wait_session(session, {"idle"})
        tree = psutil.Process(server.pid).children(recursive=True)
        assert any("java" in p.name() for p in tree), [p.name() for p in tree]
        os.kill(server.pid, sig)
        assert server._popen is not None
        assert server._popen.wait(timeout=60) == 0  # a clean exit, not death by the signal
        gone, alive = psutil.wait_procs(tree, timeout=10)
        assert not alive, f"left behind: {[(p.pid, p.name()) for p in alive]}"
    finally:
        server.stop()
    assert not server.alive()
