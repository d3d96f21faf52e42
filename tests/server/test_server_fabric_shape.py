"""Fabric's Livy API shape over the same sessions: GUID ids, 202/200 codes, paging, HC sessions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from server_api import LAKEHOUSE, WORKSPACE, Api

from fabric_livy_magics.server.launcher import RunningServer


@pytest.fixture(scope="module")
def fabric_session(fabric: Api) -> Iterator[str]:
    answer = fabric.post("/sessions", json={"name": "fabric-tests", "conf": {"spark.sql.shuffle.partitions": "2"}, "tags": {"team": "x"}})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    uuid.UUID(body["id"])
    assert body["state"] in ("not_started", "starting")
    assert body["fabricSessionStateInfo"]["state"] in ("queued", "acquiringSession")
    fabric.wait_session(body["id"], {"idle"})
    yield body["id"]
    fabric.delete(f"/sessions/{body['id']}")


def test_fabric_session_has_fabric_fields(fabric: Api, fabric_session: str) -> None:
    answer = fabric.get(f"/sessions/{fabric_session}")
    assert answer.status_code == 200
    assert answer.headers["x-ms-request-id"] == answer.headers["RequestId"]
    body = answer.json()
    assert body["id"] == fabric_session
    assert body["state"] == "idle" and body["jobType"] == "SparkSession"
    assert body["artifactId"] == LAKEHOUSE
    assert body["tags"] == {"team": "x"}
    assert body["livyInfo"]["currentState"] == "idle"
    assert body["livyInfo"]["startingAt"] <= body["livyInfo"]["idleAt"]
    assert body["livyInfo"]["jobCreationRequest"]["name"] == "fabric-tests"
    assert body["errorInfo"] == []
    assert isinstance(body["log"], list)


def test_session_created_in_fabric_shape_is_visible_in_livy_shape(livy: Api, fabric: Api, fabric_session: str, pyspark_session: int) -> None:
    livy_view = [s for s in livy.get("/sessions").json()["sessions"] if s["name"] == "fabric-tests"]
    assert len(livy_view) == 1
    by_int = fabric.get(f"/sessions/{livy_view[0]['id']}").json()
    assert by_int["id"] == fabric_session
    fabric_ids = [s["id"] for s in fabric.get("/sessions").json()["items"]]
    assert fabric_session in fabric_ids and len(fabric_ids) >= 2


def test_list_pages_with_top_skip_count(fabric: Api, fabric_session: str, pyspark_session: int) -> None:
    everything = fabric.get("/sessions", params={"$count": "true"}).json()
    total = everything["totalCountOfMatchedItems"]
    assert total == len(everything["items"]) >= 2
    page = fabric.get("/sessions", params={"$top": 1, "$skip": 1}).json()
    assert [s["id"] for s in page["items"]] == [everything["items"][1]["id"]]
    bad = fabric.get("/sessions", params={"$top": "many"})
    assert bad.status_code == 400 and bad.json()["errorCode"] == "InvalidParameter"


def test_statement_echoes_source_id_and_answers_200(fabric: Api, fabric_session: str) -> None:
    answer = fabric.post(f"/sessions/{fabric_session}/statements", json={"code": "spark.range(7).count()", "kind": "pyspark", "sourceId": "cell-42"})
    assert answer.status_code == 200
    assert answer.json()["sourceId"] == "cell-42"
    final = fabric.wait_statement(f"/sessions/{fabric_session}/statements/{answer.json()['id']}")
    assert final["sourceId"] == "cell-42"
    assert final["output"]["data"]["text/plain"] == "7"
    listed = fabric.get(f"/sessions/{fabric_session}/statements").json()
    assert listed["statements"][-1]["sourceId"] == "cell-42"


def test_statement_output_pages_with_from_and_size(fabric: Api, fabric_session: str) -> None:
    answer = fabric.post(f"/sessions/{fabric_session}/statements", json={"code": "print('0123456789' * 3)", "kind": "pyspark"})
    path = f"/sessions/{fabric_session}/statements/{answer.json()['id']}"
    fabric.wait_statement(path)
    page = fabric.get(path, params={"from": 5, "size": 10}).json()
    assert page["output"]["data"]["text/plain"] == "5678901234"
    assert fabric.get(path).json()["output"]["data"]["text/plain"] == "0123456789" * 3


def test_sql_statement_in_fabric_shape(fabric: Api, fabric_session: str) -> None:
    result = fabric.run(fabric_session, "select 'a' as k, 2 as v", kind="sql")
    assert result["output"]["data"]["application/json"]["data"] == [["a", 2]]


def test_reset_timeout_answers_204(fabric: Api, fabric_session: str) -> None:
    answer = fabric.post(f"/sessions/{fabric_session}/reset-timeout")
    assert answer.status_code == 204 and answer.content == b""


def test_lowercase_livyapi_path_works(livy_server: RunningServer, fabric_session: str) -> None:
    api = Api(livy_server.fabric_url(WORKSPACE, LAKEHOUSE).replace("livyApi", "livyapi"))
    assert api.get(f"/sessions/{fabric_session}").json()["id"] == fabric_session


def test_errors_have_fabric_shape_and_request_id(fabric: Api) -> None:
    answer = fabric.get(f"/sessions/{uuid.uuid4()}")
    assert answer.status_code == 404
    body = answer.json()
    assert body["errorCode"] == "SessionNotFound"
    assert body["requestId"] == answer.headers["x-ms-request-id"]
    assert "not found" in body["message"]


def test_fabric_statement_accepts_extra_fields_livy_refuses_source_id(livy: Api, pyspark_session: int) -> None:
    answer = livy.post(f"/sessions/{pyspark_session}/statements", json={"code": "1", "sourceId": "x"})
    assert answer.status_code == 400 and "sourceId" in answer.json()["msg"]


def test_high_concurrency_repls_share_one_spark_app_with_separate_namespaces(fabric: Api, livy: Api) -> None:
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    first = fabric.post("/highConcurrencySessions", json={"sessionTag": tag, "name": "hc"})
    second = fabric.post("/highConcurrencySessions", json={"sessionTag": tag})
    assert first.status_code == second.status_code == 202
    a, b = first.json(), second.json()
    assert a["sessionId"] == b["sessionId"] and a["id"] != b["id"]
    assert a["replId"] is None and a["state"] in ("NotStarted", "AcquiringHighConcurrencySession")
    assert a["sessionTag"] == tag
    hc_a = _wait_hc_idle(fabric, a["id"])
    hc_b = _wait_hc_idle(fabric, b["id"])
    assert hc_a["replId"] and hc_b["replId"] and hc_a["replId"] != hc_b["replId"]
    repl_a = f"/highConcurrencySessions/{hc_a['sessionId']}/repls/{hc_a['replId']}"
    repl_b = f"/highConcurrencySessions/{hc_b['sessionId']}/repls/{hc_b['replId']}"
    fabric.run("", "secret = 'only in a'", repl=repl_a)
    app_a = fabric.run("", "sc.applicationId", repl=repl_a)["output"]["data"]["text/plain"]
    app_b = fabric.run("", "sc.applicationId", repl=repl_b)["output"]["data"]["text/plain"]
    assert app_a == app_b
    leaked = fabric.run("", "secret", repl=repl_b)["output"]
    assert leaked["status"] == "error" and leaked["ename"] == "NameError"
    assert fabric.run("", "secret", repl=repl_a)["output"]["data"]["text/plain"] == "'only in a'"
    statements = fabric.get(f"{repl_a}/statements").json()
    assert statements["total_statements"] == 3
    assert fabric.delete(f"/highConcurrencySessions/{a['id']}").status_code == 200
    assert fabric.get(f"/highConcurrencySessions/{a['id']}").status_code == 404
    assert fabric.get(f"/sessions/{a['sessionId']}").json()["state"] == "idle"  # b still uses it
    assert fabric.delete(f"/highConcurrencySessions/{b['id']}").status_code == 200
    assert fabric.get(f"/sessions/{a['sessionId']}").status_code == 404  # the last REPL ended it


def _wait_hc_idle(fabric: Api, hc_id: str) -> dict:
    starting = {"NotStarted", "AcquiringHighConcurrencySession"}
    return fabric.wait(f"/highConcurrencySessions/{hc_id}", {"Idle"}, timeout=180, passing=starting, interval=0.1)
