"""Bad input gets the right 4xx with a clear message in each shape; the server keeps serving."""

from __future__ import annotations

import pytest
from server_api import Api


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object, not an array"),
        (b'{"kind": 3}', "'kind' must be a string, not an integer"),
        (b'{"kind": "cobol"}', "Unknown kind 'cobol'"),
        (b'{"conf": "x"}', "'conf' must be an object"),
        (b'{"driverCores": "two"}', "'driverCores' must be an integer"),
        (b'{"jars": "a.jar"}', "'jars' must be a list of strings"),
        (b'{"ttl": "soon"}', "Bad 'ttl'"),
        (b'{"colour": "blue"}', "Unrecognized field(s) 'colour'"),
    ],
)
def test_bad_session_requests_get_400(livy: Api, body: bytes, fragment: str) -> None:
    answer = livy.post("/sessions", data=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert fragment in answer.json()["msg"]


def test_bad_statement_requests_get_400(livy: Api, pyspark_session: int) -> None:
    path = f"/sessions/{pyspark_session}/statements"
    assert "'code' is required" in livy.post(path, json={"kind": "pyspark"}).json()["msg"]
    assert "'code' is required" in livy.post(path, json={"code": 5}).json()["msg"]
    assert livy.post(path, data=b"").status_code == 400
    assert "Unknown kind" in livy.post(path, json={"code": "1", "kind": "scala3"}).json()["msg"]


def test_unknown_session_and_statement_get_404(livy: Api, fabric: Api, pyspark_session: int) -> None:
    assert livy.get("/sessions/987654").status_code == 404
    assert livy.get("/sessions/987654").json() == {"msg": "Session '987654' not found."}
    assert livy.post("/sessions/987654/statements", json={"code": "1"}).status_code == 404
    assert livy.delete("/sessions/987654").status_code == 404
    assert livy.get(f"/sessions/{pyspark_session}/statements/99999").status_code == 404
    assert livy.get(f"/sessions/{pyspark_session}/statements/abc").status_code == 404
    assert livy.post(f"/sessions/{pyspark_session}/statements/99999/cancel").status_code == 404
    missing = fabric.get("/sessions/not-a-session/statements")
    assert missing.status_code == 404 and missing.json()["errorCode"] == "SessionNotFound"


def test_unknown_route_and_method_answer_json(livy: Api, fabric: Api) -> None:
    answer = livy.get("/nothing/here")
    assert answer.status_code == 404 and "No such resource" in answer.json()["msg"]
    assert livy.call("PUT", "/sessions").status_code == 405
    assert fabric.get("/batchez").json()["errorCode"] == "NotFound"


def test_fabric_routes_are_not_in_livy_shape_and_vice_versa(livy: Api, fabric: Api, pyspark_session: int) -> None:
    assert livy.post(f"/sessions/{pyspark_session}/reset-timeout").status_code == 404
    assert fabric.get(f"/sessions/{pyspark_session}/log").status_code == 404


def test_bad_query_parameters_get_400(livy: Api, pyspark_session: int) -> None:
    assert livy.get("/sessions", params={"from": "x"}).status_code == 400
    assert livy.get(f"/sessions/{pyspark_session}/log", params={"size": "-1"}).status_code == 400


def test_bad_completion_requests_get_400(livy: Api, pyspark_session: int) -> None:
    path = f"/sessions/{pyspark_session}/completion"
    assert livy.post(path, json={"code": "ab", "cursor": 9}).status_code == 400
    assert livy.post(path, json={"cursor": 0}).status_code == 400


def test_server_still_serves_after_bad_input(livy: Api, pyspark_session: int) -> None:
    garbage = livy.post("/sessions", data=b"\xff\xfe garbage")
    assert garbage.status_code == 400 and "not valid JSON" in garbage.json()["msg"]
    assert livy.run(pyspark_session, "'still here'")["output"]["data"]["text/plain"] == "'still here'"
