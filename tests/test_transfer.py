"""Remote Spark DataFrames <-> local pandas, through the real local Livy server and real PySpark.

Every transfer goes over loopback HTTP to a real PySpark REPL. The only stand-ins are
``run`` wrappers that damage or pad statement outputs on the way back (what a flaky proxy or
a cut-off answer would do), which no healthy server produces on demand.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest
import requests

from fabric_livy_magics.errors import ConfigurationError, MalformedResponse, StatementFailed
from fabric_livy_magics.transfer import (
    FetchResult,
    RemoteName,
    SqlQuery,
    fetch_dataframe,
    send_dataframe,
)

UTC = dt.timezone.utc


class LivyRun:
    """``run(code) -> text/plain`` on one Livy session, with plain requests (no client code under test)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["X-Requested-By"] = "tests"
        answer = self.http.post(f"{self.url}/sessions", json={"kind": "pyspark"}, timeout=30)
        assert answer.status_code == 201, answer.text
        self.base = f"{self.url}/sessions/{answer.json()['id']}"
        deadline = time.monotonic() + 180
        while (state := self.http.get(self.base, timeout=30).json()["state"]) != "idle":
            assert state not in ("dead", "error", "killed") and time.monotonic() < deadline, state
            time.sleep(0.2)
        self.calls = 0

    def __call__(self, code: str) -> str:
        self.calls += 1
        answer = self.http.post(f"{self.base}/statements", json={"code": code}, timeout=60)
        answer.raise_for_status()
        statement, delay, deadline = answer.json(), 0.005, time.monotonic() + 240
        while statement["state"] not in ("available", "error", "cancelled"):
            assert time.monotonic() < deadline, "statement did not finish"
            time.sleep(delay)
            delay = min(delay * 1.5, 0.1)
            statement = self.http.get(f"{self.base}/statements/{statement['id']}", timeout=60).json()
        output = statement["output"]
        if output["status"] != "ok":
            raise StatementFailed(output["ename"], output["evalue"], output.get("traceback"))
        return output["data"].get("text/plain", "")

    def close(self) -> None:
        self.http.delete(self.base, timeout=30)


@pytest.fixture(scope="module")
def run(livy_server: Any) -> Iterator[LivyRun]:
    remote = LivyRun(livy_server.url)
    try:
        yield remote
    finally:
        remote.close()


def remote_names(run: LivyRun) -> set[str]:
    return set(run("print(sorted(k for k in list(globals()) if not k.startswith('__')))")
               .strip("[]").replace("'", "").split(", "))


class Counting:
    """Counts calls, so tests can prove that nothing reached the server."""

    def __init__(self, run: Callable[[str], str]) -> None:
        self.inner, self.calls = run, 0

    def __call__(self, code: str) -> str:
        self.calls += 1
        return self.inner(code)


# --------------------------------------------------------------------------- every dtype

# Row 0 holds values, row 1 nulls (or a second value for the never-null columns).
TYPED_SQL = """
SELECT
  id AS i64,
  CAST(id AS INT) AS i32,
  CAST(id AS DOUBLE) + 0.25 AS f64,
  id = 0 AS flag,
  concat('s', id) AS s,
  IF(id = 0, CAST(7 AS TINYINT), NULL) AS n_i8,
  IF(id = 0, CAST(-300 AS SMALLINT), NULL) AS n_i16,
  IF(id = 0, 2147483647, NULL) AS n_i32,
  IF(id = 0, 4611686018427387905, NULL) AS n_i64,
  IF(id = 0, CAST(0.5 AS FLOAT), NULL) AS n_f32,
  IF(id = 0, CAST('NaN' AS DOUBLE), CAST('-Infinity' AS DOUBLE)) AS specials,
  IF(id = 0, true, NULL) AS n_flag,
  IF(id = 0, 'héllo "q" \\'\\n', NULL) AS n_s,
  IF(id = 0, TIMESTAMP'2024-03-10 01:02:03.123456', TIMESTAMP'9999-12-31 23:59:59.999999') AS ts,
  IF(id = 0, NULL, TIMESTAMP'0001-01-01 00:00:00') AS n_ts,
  IF(id = 0, TIMESTAMP_NTZ'2024-03-10 01:02:03.123456', NULL) AS ntz,
  IF(id = 0, DATE'0001-01-01', NULL) AS d,
  IF(id = 0, CAST('12345678901234567890.123456789012345678' AS DECIMAL(38,18)),
             CAST('-0.000000000000000001' AS DECIMAL(38,18))) AS dec,
  IF(id = 0, X'00FF10', NULL) AS bin,
  IF(id = 0, named_struct('a', 1, 'b', 'x', 'c', array(1, 2)), NULL) AS st,
  IF(id = 0, array(1, NULL, 3), NULL) AS arr,
  IF(id = 0, map('k', 1.5D), NULL) AS mp,
  IF(id = 0, array(named_struct('t', TIMESTAMP'2020-01-01 00:00:00')), NULL) AS nested_ts,
  NULL AS v,
  id AS i64
FROM range(2)
"""

EXPECTED: list[tuple[str, str, list[Any]]] = [
    ("i64", "int64", [0, 1]),
    ("i32", "int32", [0, 1]),
    ("f64", "float64", [0.25, 1.25]),
    ("flag", "bool", [True, False]),
    ("s", "str", ["s0", "s1"]),
    ("n_i8", "Int8", [7, None]),
    ("n_i16", "Int16", [-300, None]),
    ("n_i32", "Int32", [2147483647, None]),
    ("n_i64", "Int64", [4611686018427387905, None]),
    ("n_f32", "float32", [0.5, math.nan]),
    ("specials", "float64", [math.nan, -math.inf]),
    ("n_flag", "boolean", [True, None]),
    ("n_s", "str", ["héllo \"q\" '\n", None]),
    ("ts", "datetime64[us, UTC]", [dt.datetime(2024, 3, 10, 1, 2, 3, 123456, tzinfo=UTC),
                                   dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]),
    ("n_ts", "datetime64[us, UTC]", [None, dt.datetime(1, 1, 1, tzinfo=UTC)]),
    ("ntz", "datetime64[us]", [dt.datetime(2024, 3, 10, 1, 2, 3, 123456), None]),
    ("d", "object", [dt.date(1, 1, 1), None]),
    ("dec", "object", [decimal.Decimal("12345678901234567890.123456789012345678"),
                       decimal.Decimal("-0.000000000000000001")]),
    ("bin", "object", [b"\x00\xff\x10", None]),
    ("st", "object", [{"a": 1, "b": "x", "c": [1, 2]}, None]),
    ("arr", "object", [[1, None, 3], None]),
    ("mp", "object", [{"k": 1.5}, None]),
    ("nested_ts", "object", [[{"t": dt.datetime(2020, 1, 1, tzinfo=UTC)}], None]),
    ("v", "object", [None, None]),
    ("i64", "int64", [0, 1]),
]


def same(a: Any, b: Any) -> bool:
    """Equality where every kind of missing matches None, NaN matches NaN, naive never matches aware."""
    if b is None:
        return a is None or a is pd.NA or a is pd.NaT or (isinstance(a, float) and math.isnan(a))
    if isinstance(b, float) and math.isnan(b):
        return isinstance(a, float) and math.isnan(a)
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime) and (a.tzinfo is None) != (b.tzinfo is None):
        return False
    return bool(a == b)


def check_typed(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == [name for name, _, _ in EXPECTED]  # order and duplicates kept
    for index, (name, dtype, values) in enumerate(EXPECTED):
        column = frame.iloc[:, index]
        assert str(column.dtype) == dtype, (name, column.dtype)
        got = [v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in column.tolist()]
        assert len(got) == len(values) and all(same(g, e) for g, e in zip(got, values)), (name, got)
    assert isinstance(frame.iloc[0, frame.columns.get_loc("dec")], decimal.Decimal)


@pytest.fixture(scope="module")
def typed(run: LivyRun) -> str:
    run(f"typed = spark.sql({TYPED_SQL!r})")
    return "typed"


@pytest.mark.parametrize("encoding", ["arrow", "json"])
def test_fetch_keeps_every_dtype_exactly(run: LivyRun, typed: str, encoding: str) -> None:
    result = fetch_dataframe(run, RemoteName(typed), maxrows=100, encoding=encoding)
    assert isinstance(result, FetchResult)
    assert result.encoding.split("+")[0] == encoding
    assert (result.truncated, result.total_rows) == (False, 2)
    assert result.bytes_transferred > 0
    check_typed(result.frame)


@pytest.mark.parametrize("encoding", ["arrow", "json"])
def test_timestamps_are_instants_whatever_the_session_time_zone(run: LivyRun, encoding: str) -> None:
    run("spark.conf.set('spark.sql.session.timeZone', 'America/New_York')\n"
        "zoned = spark.sql(\"SELECT TIMESTAMP'2024-07-01 12:00:00' AS ts, TIMESTAMP_NTZ'2024-07-01 12:00:00' AS ntz\")")
    try:
        frame = fetch_dataframe(run, RemoteName("zoned"), maxrows=10, encoding=encoding).frame
    finally:
        run("spark.conf.set('spark.sql.session.timeZone', 'UTC')")
    assert frame["ts"][0] == pd.Timestamp("2024-07-01 16:00:00", tz="UTC")  # 12:00 EDT
    assert frame["ntz"][0] == pd.Timestamp("2024-07-01 12:00:00")


def test_auto_falls_back_to_json_when_the_remote_side_has_no_pyarrow(run: LivyRun, typed: str) -> None:
    # Hide pyarrow in the real remote REPL, as on a cluster without it; put it back afterwards.
    run("import sys\n_saved_pa = sys.modules['pyarrow']\nsys.modules['pyarrow'] = None")
    try:
        result = fetch_dataframe(run, RemoteName(typed), maxrows=100)
    finally:
        run("sys.modules['pyarrow'] = _saved_pa\ndel _saved_pa")
    assert result.encoding == "json"
    assert result.note and "pyarrow" in result.note
    check_typed(result.frame)


def test_arrow_compression_is_used_when_both_sides_have_it(run: LivyRun) -> None:
    run("wide = spark.range(20000).selectExpr('id', \"repeat('abc', 20) AS s\")")
    packed = fetch_dataframe(run, RemoteName("wide"), maxrows=None)
    plain = fetch_dataframe(run, RemoteName("wide"), maxrows=None, compression=False)
    assert packed.encoding in ("arrow+zstd", "arrow+lz4") and plain.encoding == "arrow"
    assert packed.bytes_transferred * 5 < plain.bytes_transferred
    pd.testing.assert_frame_equal(packed.frame, plain.frame)


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("encoding", ["arrow", "json"])
def test_empty_result_keeps_columns_and_dtypes(run: LivyRun, typed: str, encoding: str) -> None:
    result = fetch_dataframe(run, SqlQuery(TYPED_SQL.replace("range(2)", "range(0)")), maxrows=10,
                             encoding=encoding)
    assert (len(result.frame), result.truncated, result.total_rows) == (0, False, 0)
    assert list(result.frame.columns) == [name for name, _, _ in EXPECTED]
    dtypes = [str(t) for t in result.frame.dtypes]
    # With no rows there are no nulls: nullable ints and booleans come back as plain numpy dtypes.
    assert dtypes[:5] == ["int64", "int32", "float64", "bool", "str"]
    assert dtypes[5:9] == ["int8", "int16", "int32", "int64"]
    assert dtypes[13:16] == ["datetime64[us, UTC]", "datetime64[us, UTC]", "datetime64[us]"]


@pytest.mark.parametrize("encoding", ["arrow", "json"])
def test_truncates_at_maxrows_and_says_so(run: LivyRun, encoding: str) -> None:
    query = SqlQuery("SELECT id FROM range(10) ORDER BY id")
    cut = fetch_dataframe(run, query, maxrows=3, encoding=encoding)
    assert (cut.frame["id"].tolist(), cut.truncated, cut.total_rows) == ([0, 1, 2], True, None)
    exact = fetch_dataframe(run, query, maxrows=10, encoding=encoding)
    assert (len(exact.frame), exact.truncated, exact.total_rows) == (10, False, 10)
    everything = fetch_dataframe(run, query, maxrows=-1, encoding=encoding)
    assert (len(everything.frame), everything.truncated) == (10, False)
    none = fetch_dataframe(run, query, maxrows=0, encoding=encoding)
    assert (len(none.frame), none.truncated, list(none.frame.columns)) == (0, True, ["id"])


def test_sample_takes_a_subset(run: LivyRun) -> None:
    result = fetch_dataframe(run, SqlQuery("SELECT id FROM range(2000)"), maxrows=None, sample=0.1)
    assert 50 < len(result.frame) < 400
    assert set(result.frame["id"]) <= set(range(2000))


@pytest.mark.parametrize("encoding", ["arrow", "json"])
def test_large_result_arrives_in_many_checked_chunks(run: LivyRun, encoding: str) -> None:
    run("many = spark.range(5000).selectExpr('id', \"concat('row-', id) AS s\", 'id * 0.5D AS x')")
    counted = Counting(run)
    result = fetch_dataframe(counted, RemoteName("many"), maxrows=None, chunk_bytes=4096,
                             encoding=encoding, compression=False)
    assert counted.calls > 10  # one statement per chunk
    frame = result.frame
    assert frame["id"].tolist() == list(range(5000))
    assert frame["s"].iloc[4999] == "row-4999" and frame["x"].iloc[4999] == 2499.5
    assert "_flm_transfers" not in remote_names(run)  # the last chunk freed the remote copy


def test_small_result_takes_one_statement(run: LivyRun, typed: str) -> None:
    counted = Counting(run)
    fetch_dataframe(counted, RemoteName(typed), maxrows=10)
    assert counted.calls == 1
    assert "_flm_transfers" not in remote_names(run)


def test_sql_source_with_quotes_and_newlines_is_data_not_code(run: LivyRun) -> None:
    text = "it's \"\"\" ''' \\n \n end"
    literal = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    result = fetch_dataframe(run, SqlQuery(f"SELECT '{literal}' AS t"), maxrows=5)
    assert result.frame["t"][0] == text


# --------------------------------------------------------------------------- errors


def test_unknown_remote_variable_is_a_clear_error(run: LivyRun) -> None:
    with pytest.raises(StatementFailed) as info:
        fetch_dataframe(run, RemoteName("no_such_frame"), maxrows=10)
    assert info.value.ename == "NameError"
    assert "no remote variable named 'no_such_frame'" in str(info.value)


def test_remote_variable_that_is_not_a_dataframe_is_a_clear_error(run: LivyRun) -> None:
    run("not_a_frame = [1, 2, 3]")
    with pytest.raises(StatementFailed) as info:
        fetch_dataframe(run, RemoteName("not_a_frame"), maxrows=10)
    assert info.value.ename == "TypeError"
    assert "'not_a_frame' is a list, not a Spark DataFrame" in str(info.value)


def test_failing_sql_reports_sparks_error(run: LivyRun) -> None:
    with pytest.raises(StatementFailed) as info:
        fetch_dataframe(run, SqlQuery("SELECT * FROM table_that_does_not_exist"), maxrows=10)
    assert "TABLE_OR_VIEW_NOT_FOUND" in str(info.value)


@pytest.mark.parametrize("name", ["df; import os", "a.b", "1x", "class", "", "x\ny", "os.system('x')"])
def test_bad_names_are_refused_before_any_remote_call(run: LivyRun, name: str) -> None:
    counted = Counting(run)
    with pytest.raises(ConfigurationError, match="not a valid remote variable name"):
        fetch_dataframe(counted, RemoteName(name), maxrows=10)
    with pytest.raises(ConfigurationError, match="not a valid remote variable name"):
        send_dataframe(counted, pd.DataFrame({"a": [1]}), name)
    assert counted.calls == 0


@pytest.mark.parametrize("kwargs", [{"maxrows": -5}, {"maxrows": 10, "sample": 1.5},
                                    {"maxrows": 10, "chunk_bytes": 10}, {"maxrows": 10, "encoding": "xml"}])
def test_bad_options_are_refused_before_any_remote_call(run: LivyRun, kwargs: dict[str, Any]) -> None:
    counted = Counting(run)
    with pytest.raises(ConfigurationError):
        fetch_dataframe(counted, RemoteName("typed"), **kwargs)
    with pytest.raises(ConfigurationError):
        fetch_dataframe(counted, SqlQuery("   "), maxrows=10)
    assert counted.calls == 0


def test_send_refuses_reserved_names(run: LivyRun) -> None:
    counted = Counting(run)
    with pytest.raises(ConfigurationError, match="reserved"):
        send_dataframe(counted, pd.DataFrame({"a": [1]}), "spark")
    assert counted.calls == 0


def _damaging(run: LivyRun, damage: Callable[[str], str], on_call: int) -> Callable[[str], str]:
    state = {"calls": 0}

    def wrapped(code: str) -> str:
        state["calls"] += 1
        output = run(code)
        return damage(output) if state["calls"] == on_call else output

    return wrapped


def _flip_in_payload(output: str) -> str:
    at = output.index("\n", output.index(":begin>>>") + 10) + 1  # after the header line
    at += 100
    return output[:at] + ("A" if output[at] != "A" else "B") + output[at + 1:]


def _cut_in_payload(output: str) -> str:
    at = output.index("\n", output.index(":begin>>>") + 10) + 1
    return output[: at + 100] + output[at + 150:]


@pytest.mark.parametrize("damage, on_call, message", [
    (_flip_in_payload, 2, "checksum"),
    (_flip_in_payload, 1, "checksum"),
    (lambda out: out[: len(out) // 2], 2, "cut off"),
    (lambda out: _cut_in_payload(out), 3, "incomplete"),
])
def test_damaged_or_partial_output_is_detected_and_remote_copy_freed(
    run: LivyRun, damage: Callable[[str], str], on_call: int, message: str
) -> None:
    run("big = spark.range(3000).selectExpr('id', \"concat('v', id) AS s\")")
    with pytest.raises(MalformedResponse, match=message):
        fetch_dataframe(_damaging(run, damage, on_call), RemoteName("big"), maxrows=None,
                        chunk_bytes=2048, compression=False)
    assert "_flm_transfers" not in remote_names(run)


def test_output_printed_around_the_frame_is_ignored(run: LivyRun, typed: str) -> None:
    noisy = _damaging(run, lambda out: "WARN something\n" + out + "\nmore noise on stderr", 1)
    check_typed(fetch_dataframe(noisy, RemoteName(typed), maxrows=10).frame)


# --------------------------------------------------------------------------- send


def test_send_round_trips_every_dtype(run: LivyRun, typed: str) -> None:
    original = fetch_dataframe(run, RemoteName(typed), maxrows=10).frame
    sent = send_dataframe(run, original, "typed_back")
    assert sent.remote_name == "typed_back" and sent.rows == 2
    assert "ts:timestamp," in sent.schema and "ntz:timestamp_ntz" in sent.schema
    assert "dec:decimal(38,18)" in sent.schema
    check_typed(fetch_dataframe(run, RemoteName("typed_back"), maxrows=10).frame)
    assert run("print(typed_back.columns[0], typed_back.columns[-1], type(typed_back).__name__)") == \
        "i64 i64 DataFrame"


def test_send_in_many_chunks_and_compressed(run: LivyRun) -> None:
    frame = pd.DataFrame({
        "n": pd.array(range(3000), dtype="int64"),
        "s": [f"text {i}" for i in range(3000)],
        "when": pd.date_range("2024-01-01", periods=3000, freq="min", tz="UTC", unit="us"),
        "maybe": pd.array([None if i % 3 else i for i in range(3000)], dtype="Int64"),
    })
    counted = Counting(run)
    result = send_dataframe(counted, frame, "uploaded", chunk_bytes=1024)
    assert counted.calls > 5 and result.rows == 3000
    back = fetch_dataframe(run, RemoteName("uploaded"), maxrows=None).frame
    pd.testing.assert_frame_equal(back, frame)
    assert "_flm_transfers" not in remote_names(run)


def test_send_of_an_empty_frame(run: LivyRun) -> None:
    frame = pd.DataFrame({"a": pd.Series([], dtype="int64"), "b": pd.Series([], dtype="float64")})
    send_dataframe(run, frame, "empty_back")
    back = fetch_dataframe(run, RemoteName("empty_back"), maxrows=10).frame
    pd.testing.assert_frame_equal(back, frame)


@pytest.mark.parametrize("column", [
    pd.Series([1, "two"], dtype=object),
    pd.Series(pd.to_datetime(["2024-01-01 00:00:00.000000001"]).astype("datetime64[ns]")),
    pd.Series([2**64 - 1], dtype="uint64"),
])
def test_send_refuses_columns_spark_cannot_hold_exactly(run: LivyRun, column: pd.Series) -> None:
    counted = Counting(run)
    with pytest.raises(ConfigurationError, match="Column 'bad'"):
        send_dataframe(counted, pd.DataFrame({"bad": column}), "refused")
    assert counted.calls == 0


def test_send_refuses_what_is_not_a_dataframe(run: LivyRun) -> None:
    with pytest.raises(ConfigurationError, match="Only a pandas DataFrame"):
        send_dataframe(run, [1, 2], "refused")  # type: ignore[arg-type]
