"""The server's input, tried as a hostile client over loopback: odd ids, odd numbers, deep JSON,
resent statements. Every case gets the right 4xx with a one-line message in the caller's shape, and
nothing reaches the log as an internal error. (Who may call, and how much: ``test_server_edge.py``.)"""

from __future__ import annotations

import pytest
import requests
from server_api import Api

from fabric_livy_magics.server.launcher import RunningServer

SHAPES = ["livy", "fabric"]
HUGE = "9" * 60


def _message(answer: requests.Response) -> str:
    body = answer.json()
    return body.get("msg") or body.get("message") or ""


def _api(request: pytest.FixtureRequest, shape: str) -> Api:
    return request.getfixturevalue(shape)


def _no_internal_errors(server: RunningServer) -> None:
    log = server.log_path.read_text(encoding="utf-8", errors="replace") if server.log_path else ""
    assert "internal error" not in log and "Traceback" not in log, log[-3000:]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/sessions/%C2%B2", 404, "Session '\\xb2' not found."),
        ("/sessions/%C2%B2/statements", 404, "Session '\\xb2' not found."),
        ("/sessions/%D9%A3", 404, "not found."),  # an Arabic-Indic digit: int() would take it
        (f"/sessions/{HUGE}", 404, "not found."),
        (f"/sessions/{'9' * 5000}", 404, "..."),  # past Python's int-conversion limit
        ("/batches/%C2%B2", 404, "Batch '\\xb2' not found."),
        ("/sessions/%0A", 404, "Session '\\n' not found."),  # a client's text never breaks the line
        ("/batches/x%0D%0Ay", 404, "Batch 'x\\r\\ny' not found."),
        ("/nowhere%0A", 404, "No such resource: GET "),
        (f"/batches/{HUGE}", 404, "not found."),
        ("/sessions?{skip}=%C2%B2", 400, "must be a whole number"),
        (f"/batches?{{top}}={HUGE}", 400, "must be a whole number"),
    ],
)
def test_odd_ids_and_numbers_get_4xx(request: pytest.FixtureRequest, livy_server: RunningServer, shape: str,
                                     path: str, status: int, fragment: str) -> None:
    api = _api(request, shape)
    names = {"skip": "from", "top": "size"} if shape == "livy" else {"skip": "$skip", "top": "$top"}
    path = path.replace("{skip}", names["skip"]).replace("{top}", names["top"])
    answer = api.get(path)
    assert answer.status_code == status, answer.text
    assert fragment in _message(answer) and "\n" not in _message(answer)
    _no_internal_errors(livy_server)


def test_fabric_only_routes_with_odd_ids(fabric: Api, livy_server: RunningServer) -> None:
    for path in ("/highConcurrencySessions/%C2%B2", "/highConcurrencySessions/%0A", f"/highConcurrencySessions/{HUGE}"):
        answer = fabric.get(path)
        assert answer.status_code == 404 and answer.json()["errorCode"] == "SessionNotFound", answer.text
        assert "not found." in _message(answer) and "\n" not in _message(answer)
    answer = fabric.post(f"/sessions/{HUGE}/reset-timeout")
    assert answer.status_code == 404 and "not found." in _message(answer)
    _no_internal_errors(livy_server)


def test_livy_only_routes_with_odd_ids(livy: Api, livy_server: RunningServer) -> None:
    for path in ("/sessions/%C2%B2/log", "/sessions/%C2%B2/state", "/batches/%C2%B2/log", f"/sessions/{HUGE}/log"):
        answer = livy.get(path)
        assert answer.status_code == 404 and "not found." in _message(answer), answer.text
    _no_internal_errors(livy_server)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("route", "body", "fragment"),
    [
        ("/sessions", '{"conf": {"a": 1e400}}', "'conf.a' holds 1e400"),
        ("/sessions", '{"conf": {"a": NaN}}', "'conf.a' holds NaN"),
        ("/sessions", '{"conf": {"a": -Infinity}}', "'conf.a' holds -Infinity"),
        ("/sessions", '{"name": "x", "driverCores": 99999999999999999999999}', "'driverCores' holds 9999"),
        ("/sessions", '{"driverCores": 4294967296}', "'driverCores' must be between 0 and 2147483647"),
        ("/sessions", '{"ttl": "' + "9" * 31 + '"}', "Bad 'ttl'"),
        ("/sessions", '{"conf": {"livy.rsc.sql.num-rows": "lots"}}', "must be a whole number of rows"),
        ("/batches", '{"file": "job.py", "args": [1e400]}', "'args[0]' holds 1e400"),
        ("/sessions", "[" * 100_000 + "]" * 100_000, "nests too deeply"),
        ("/sessions", '{"a":' * 50_000 + "1" + "}" * 50_000, "nests too deeply"),
    ],
)
def test_odd_bodies_get_400_naming_the_field(request: pytest.FixtureRequest, livy_server: RunningServer,
                                             shape: str, route: str, body: str, fragment: str) -> None:
    api = _api(request, shape)
    answer = api.post(route, data=body.encode(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert fragment in _message(answer), _message(answer)
    _no_internal_errors(livy_server)


def test_a_resent_source_id_does_not_run_twice(fabric: Api, pyspark_session: int) -> None:
    """Fabric's ``sourceId`` names one submission (the Livy shape has no such field)."""
    path = f"/sessions/{pyspark_session}/statements"
    assert fabric.run(pyspark_session, "resend_counter = 0")["output"]["status"] == "ok"
    body = {"code": "resend_counter += 1", "kind": "pyspark", "sourceId": "resend-0001"}
    first = fabric.post(path, json=body).json()
    second = fabric.post(path, json=body).json()
    assert first["id"] == second["id"]
    fabric.wait_statement(f"{path}/{first['id']}")
    result = fabric.run(pyspark_session, "print(resend_counter)")
    assert result["output"]["data"]["text/plain"].strip() == "1"
