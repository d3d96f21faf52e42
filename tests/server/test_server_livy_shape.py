"""Apache Livy's URL shape: sessions, statements with real Spark results, magics, errors."""

from __future__ import annotations

import base64

from server_api import Api


def test_version_answers_like_livy(livy: Api) -> None:
    answer = livy.get("/version")
    assert answer.status_code == 200
    assert answer.json()["version"].startswith("0.8.0")


def test_session_is_listed_and_has_livy_fields(livy: Api, pyspark_session: int) -> None:
    body = livy.get(f"/sessions/{pyspark_session}").json()
    assert body["id"] == pyspark_session
    assert body["state"] == "idle"
    assert body["kind"] == "pyspark"
    assert body["name"] == "shared-tests"
    assert "proxyUser" in body and body["proxyUser"] is None
    assert body["appId"].startswith("local-")
    assert set(body["appInfo"]) == {"driverLogUrl", "sparkUiUrl"}
    listing = livy.get("/sessions").json()
    assert listing["from"] == 0 and listing["total"] >= 1
    assert pyspark_session in [s["id"] for s in listing["sessions"]]
    assert livy.get(f"/sessions/{pyspark_session}/state").json() == {"id": pyspark_session, "state": "idle"}


def test_session_log_carries_process_output(livy: Api, pyspark_session: int) -> None:
    body = livy.get(f"/sessions/{pyspark_session}/log", params={"size": 1000}).json()
    assert body["id"] == pyspark_session
    assert body["total"] >= 1
    assert any("log level" in line or "WARN" in line for line in body["log"])
    page = livy.get(f"/sessions/{pyspark_session}/log", params={"from": 0, "size": 1}).json()
    assert page["from"] == 0 and len(page["log"]) == 1


def test_pyspark_statement_runs_spark_and_shows_last_expression(livy: Api, pyspark_session: int) -> None:
    result = livy.run(pyspark_session, "print('counting')\nspark.range(1000).selectExpr('sum(id) as s').collect()[0].s")
    assert result["state"] == "available"
    assert result["progress"] == 1.0
    assert result["completed"] >= result["started"] > 0
    output = result["output"]
    assert output["status"] == "ok"
    assert output["execution_count"] == result["id"]
    assert output["data"]["text/plain"] == "counting\n499500"


def test_namespace_persists_and_has_spark_sc_sqlcontext(livy: Api, pyspark_session: int) -> None:
    livy.run(pyspark_session, "remembered = sc.parallelize([1, 2, 3]).map(lambda x: x * 2).collect()")
    result = livy.run(pyspark_session, "remembered, type(sqlContext).__name__, spark.version[:1]")
    assert result["output"]["data"]["text/plain"] == "([2, 4, 6], 'SQLContext', '4')"


def test_stderr_follows_stdout_and_none_shows_nothing(livy: Api, pyspark_session: int) -> None:
    result = livy.run(pyspark_session, "import sys\nprint('out')\nprint('err', file=sys.stderr)\nNone")
    assert result["output"]["data"]["text/plain"] == "out\nerr"


def test_python_error_has_ename_evalue_and_user_traceback(livy: Api, pyspark_session: int) -> None:
    result = livy.run(pyspark_session, "print('lost')\ndef f():\n    return 1 / 0\nf()")
    assert result["state"] == "available"
    output = result["output"]
    assert output["status"] == "error"
    assert output["ename"] == "ZeroDivisionError"
    assert output["evalue"] == "division by zero"
    text = "".join(output["traceback"])
    assert "<stdin>" in text and "execute.py" not in text and "repl.py" not in text
    assert "data" not in output
    follow = livy.run(pyspark_session, "print('next')")
    assert follow["output"]["data"]["text/plain"] == "next"  # the failed cell's stdout does not leak


def test_syntax_error_is_a_statement_error(livy: Api, pyspark_session: int) -> None:
    output = livy.run(pyspark_session, "def broken(:\n  pass")["output"]
    assert output["status"] == "error" and output["ename"] == "SyntaxError"


def test_spark_error_is_reported(livy: Api, pyspark_session: int) -> None:
    output = livy.run(pyspark_session, "spark.sql('select * from no_such_table_here').collect()")["output"]
    assert output["status"] == "error"
    assert "no_such_table_here" in output["evalue"]
    text = "".join(output["traceback"])
    # The person's line and Spark's message; none of PySpark's or Py4J's plumbing frames.
    assert '<stdin>", line 1' in text and "no_such_table_here" in text
    assert "java_gateway.py" not in text and "/pyspark/" not in text


def test_sql_statement_answers_schema_and_rows(livy: Api, pyspark_session: int) -> None:
    result = livy.run(
        pyspark_session,
        "select id, cast(id * 1.5 as double) as x, date'2024-02-29' as d, concat('r', id) as s from range(3)",
        kind="sql",
    )
    table = result["output"]["data"]["application/json"]
    assert [f["name"] for f in table["schema"]["fields"]] == ["id", "x", "d", "s"]
    assert table["schema"]["type"] == "struct"
    assert table["schema"]["fields"][0]["type"] == "long"
    assert table["data"] == [[0, 0.0, "2024-02-29", "r0"], [1, 1.5, "2024-02-29", "r1"], [2, 3.0, "2024-02-29", "r2"]]


def test_sql_sees_views_made_in_pyspark(livy: Api, pyspark_session: int) -> None:
    livy.run(pyspark_session, "spark.range(5).createOrReplaceTempView('five')")
    result = livy.run(pyspark_session, "select count(*) as n from five", kind="sql")
    assert result["output"]["data"]["application/json"]["data"] == [[5]]


def test_table_magic_uses_livy_table_mime(livy: Api, pyspark_session: int) -> None:
    code = "rows = [{'name': 'a', 'n': 1, 'x': 0.5}, {'name': 'b', 'n': 2, 'x': None}]\n%table rows"
    data = livy.run(pyspark_session, code)["output"]["data"]
    table = data["application/vnd.livy.table.v1+json"]
    assert table["headers"] == [
        {"name": "name", "type": "STRING_TYPE"},
        {"name": "n", "type": "INT_TYPE"},
        {"name": "x", "type": "DOUBLE_TYPE"},
    ]
    assert table["data"] == [["a", 1, 0.5], ["b", 2, None]]


def test_table_magic_accepts_a_spark_dataframe(livy: Api, pyspark_session: int) -> None:
    data = livy.run(pyspark_session, "%table spark.range(2).selectExpr('id', 'id > 0 as positive')")["output"]["data"]
    table = data["application/vnd.livy.table.v1+json"]
    assert [h["name"] for h in table["headers"]] == ["id", "positive"]
    assert table["data"] == [[0, False], [1, True]]


def test_json_magic_uses_application_json(livy: Api, pyspark_session: int) -> None:
    data = livy.run(pyspark_session, "value = {'a': [1, 2], 'b': 'x'}\n%json value")["output"]["data"]
    assert data["application/json"] == {"a": [1, 2], "b": "x"}


def test_matplot_magic_returns_png(livy: Api, pyspark_session: int) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [3, 1, 2])\n%matplot plt"
    result = livy.run(pyspark_session, code)
    assert result["output"]["status"] == "ok", result["output"]
    png = base64.b64decode(result["output"]["data"]["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_magic_with_bad_value_is_an_error(livy: Api, pyspark_session: int) -> None:
    output = livy.run(pyspark_session, "%table 42")["output"]
    assert output["status"] == "error" and output["ename"] == "TypeError"


def test_statements_are_listed(livy: Api, pyspark_session: int) -> None:
    livy.run(pyspark_session, "1 + 1")
    body = livy.get(f"/sessions/{pyspark_session}/statements").json()
    assert body["total_statements"] == len(body["statements"]) >= 1
    assert body["statements"][-1]["output"]["data"]["text/plain"] == "2"


def test_completion_lists_namespace_names(livy: Api, pyspark_session: int) -> None:
    livy.run(pyspark_session, "completion_target_value = 3")
    answer = livy.post(
        f"/sessions/{pyspark_session}/completion", json={"code": "x = completion_tar", "kind": "pyspark", "cursor": 18}
    )
    assert answer.status_code == 200
    assert "completion_target_value" in answer.json()["candidates"]
    attrs = livy.post(f"/sessions/{pyspark_session}/completion", json={"code": "spark.ran", "kind": "pyspark", "cursor": 9})
    assert "spark.range" in attrs.json()["candidates"]


def test_scala_and_r_are_refused_clearly(livy: Api, pyspark_session: int) -> None:
    for kind in ("spark", "sparkr"):
        answer = livy.post(f"/sessions/{pyspark_session}/statements", json={"code": "1", "kind": kind})
        assert answer.status_code == 400
        assert "only pyspark and sql" in answer.json()["msg"]
    answer = livy.post("/sessions", json={"kind": "spark"})
    assert answer.status_code == 400 and "not supported" in answer.json()["msg"]
