"""``%livy tables|describe|read|write|send-module`` and SQL cells with parameters and several
statements, through a real shell against the local server (real PySpark, one shared session)."""

from __future__ import annotations

import datetime
import decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from fabric_livy_magics.errors import StatementFailed

pytestmark = pytest.mark.timeout(300)


def livy(shell: Any, line: str) -> Any:
    """``%livy line``, returning what it printed and displayed."""
    with capture_output() as cap:
        shell.run_line_magic("livy", line)
    return cap


def remote(shell: Any, code: str) -> str:
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", code)
    return cap.stdout


def sql(shell: Any, line: str, cell: str) -> Any:
    with capture_output() as cap:
        shell.run_cell_magic("livy_sql", line, cell)
    return cap


@pytest.fixture(scope="module")
def sales(shell: Any, notebook: Any) -> str:
    """A managed table partitioned by region, and a temporary view over it."""
    remote(shell, (
        "spark.sql('DROP TABLE IF EXISTS lh_sales')\n"
        "spark.createDataFrame([(1, 'north', 10.5), (2, 'south', 3.0), (3, 'north', 7.25), (4, 'east', 1.0)],"
        " 'id long, region string, amount double')"
        ".write.partitionBy('region').format('parquet').saveAsTable('lh_sales')\n"
        "spark.table('lh_sales').where('amount > 5').createOrReplaceTempView('lh_big_sales')"))
    return "lh_sales"


def test_tables_lists_managed_tables_and_temporary_views(shell: Any, sales: str) -> None:
    cap = livy(shell, "tables --like lh_* -o listing")
    listing = shell.user_ns["listing"]
    assert list(listing.columns) == ["table", "database", "type", "format", "location", "temporary"]
    rows = {r.table: r for r in listing.itertuples()}
    assert rows["lh_sales"].type == "MANAGED" and rows["lh_sales"].format == "parquet"
    assert rows["lh_sales"].database == "default" and "lh_sales" in rows["lh_sales"].location
    assert rows["lh_big_sales"].type == "TEMPORARY VIEW" and rows["lh_big_sales"].temporary
    assert "text/html" in cap.outputs[0].data
    assert livy(shell, "tables --like no_such_thing*").stdout.startswith("No tables in default matching")


def test_describe_shows_columns_partitioning_and_count(shell: Any, sales: str) -> None:
    cap = livy(shell, "describe lh_sales --count -o cols")
    assert cap.stdout.splitlines()[0].startswith("spark_catalog.default.lh_sales (MANAGED, parquet) at ")
    assert "partitioned by region; 4 rows." in cap.stdout
    cols = shell.user_ns["cols"]
    assert cols[["column", "type", "partition"]].values.tolist() == [
        ["id", "bigint", False], ["amount", "double", False], ["region", "string", True]]
    view = livy(shell, "describe lh_big_sales -o view_cols")
    assert view.stdout.startswith("lh_big_sales (TEMPORARY VIEW).")
    assert shell.user_ns["view_cols"]["column"].tolist() == ["id", "amount", "region"]


def test_read_with_where_columns_and_maxrows(shell: Any, sales: str) -> None:
    livy(shell, 'read lh_sales -o north --where "region = \'north\'" --columns id,amount')
    north = shell.user_ns["north"].sort_values("id").reset_index(drop=True)
    assert list(north.columns) == ["id", "amount"] and north["id"].tolist() == [1, 3]
    assert str(north["id"].dtype) == "int64" and north["amount"].tolist() == [10.5, 7.25]
    cap = livy(shell, "read lh_sales -o two -n 2 -q")
    assert len(shell.user_ns["two"]) == 2 and "2 rows" in cap.stdout and not cap.outputs


@pytest.mark.parametrize(("line", "message"), [
    ("read lh_sales --columns id,nope", "has no column nope"),
    ("read no_such_table", "no table or view named 'no_such_table'"),
    ('read lh_sales --where "amount >"', "--where 'amount >'"),
])
def test_read_mistakes_are_one_line(shell: Any, sales: str, line: str, message: str) -> None:
    with pytest.raises(StatementFailed) as info:
        shell.run_line_magic("livy", line)
    assert message in str(info.value) and len(info.value._render_traceback_()) == 1


@pytest.mark.parametrize("line", [
    "read", "read lh_sales -n -5", "read lh_sales --columns ,", "read lh_sales -o 1x",
    'read lh_sales --where " "', "describe", "tables a b", "write", "write nothing_here t",
    "write frame_ok t --mode sometimes", "write frame_ok t --partition-by nope",
    "write frame_ok t --format 'delta; drop'", "write bad_frame t", "send-module",
    "send-module ./no/such/file.py", "send-module json_no_such_module_xyz",
])
def test_usage_errors_make_no_remote_call(shell: Any, sales: str, statements: Any, line: str) -> None:
    shell.user_ns["frame_ok"] = pd.DataFrame({"a": [1]})
    shell.user_ns["bad_frame"] = pd.DataFrame({"huge": np.array([2**64 - 1], dtype="uint64")})
    before = statements()
    with pytest.raises(UsageError) as info:
        shell.run_line_magic("livy", line)
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert statements() == before


def _dtype_matrix() -> pd.DataFrame:
    return pd.DataFrame({
        "i8": np.array([1, -2, 3], dtype="int8"), "i16": np.array([1, 2, -3], dtype="int16"),
        "i32": np.array([1, 2, 3], dtype="int32"), "i64": np.array([2**40, 0, -1], dtype="int64"),
        "n64": pd.array([1, None, 3], dtype="Int64"), "f32": np.array([0.5, 1.5, -2], dtype="float32"),
        "f64": [1.5, np.nan, -0.25], "flag": [True, False, True],
        "maybe": pd.array([True, None, False], dtype="boolean"), "text": ["a", None, "ü"],
        "utc": pd.to_datetime(["2024-01-01 00:00:01.000001", "1999-12-31 23:59:59", None], utc=True, format="ISO8601").as_unit("us"),
        "naive": pd.to_datetime(["2024-03-01 12:00:00", "1900-01-01 00:00:00", None]).as_unit("us"),
        "day": [datetime.date(2024, 2, 29), None, datetime.date(1, 1, 1)],
        "money": [decimal.Decimal("1.10"), None, decimal.Decimal("-3.25")],
        "blob": [b"\x00\x01", None, b"xyz"],
    })


def test_write_and_read_back_keeps_every_dtype(shell: Any, notebook: Any) -> None:
    frame = _dtype_matrix()
    shell.user_ns["matrix"] = frame
    remote(shell, "spark.sql('DROP TABLE IF EXISTS lh_matrix')")
    cap = livy(shell, "write matrix lh_matrix --format parquet")
    assert cap.stdout.strip() == "Wrote 3 rows of matrix as new table lh_matrix."
    livy(shell, "read lh_matrix -o back -q")
    back = shell.user_ns["back"]
    order = back["i16"].map({1: 0, 2: 1, -3: 2}).sort_values().index
    back = back.loc[order].reset_index(drop=True)
    assert list(back.columns) == list(frame.columns)
    assert {c: str(t) for c, t in back.dtypes.items()} == {c: str(t) for c, t in frame.dtypes.items()}
    pd.testing.assert_frame_equal(back, frame)


def test_values_spark_cannot_hold_are_refused_by_column_before_sending(shell: Any, notebook: Any,
                                                                       statements: Any) -> None:
    shell.user_ns["inexact"] = pd.DataFrame({
        "fine": [1, 2], "stamp": pd.to_datetime(["2024-01-01 00:00:00", "2024-01-01 00:00:00.000000001"], format="ISO8601")})
    before = statements()
    with pytest.raises(UsageError, match=r"^Column 'stamp' \(datetime64\[ns\]\) cannot be sent to Spark"):
        shell.run_line_magic("livy", "write inexact lh_inexact")
    assert statements() == before


def test_write_modes(shell: Any, notebook: Any) -> None:
    remote(shell, "spark.sql('DROP TABLE IF EXISTS lh_modes')")
    shell.user_ns["first"] = pd.DataFrame({"id": [1, 2], "name": ["a", "b"]})
    shell.user_ns["more"] = pd.DataFrame({"name": ["c"], "id": np.array([3], dtype="int32")})
    livy(shell, "write first lh_modes")
    with pytest.raises(StatementFailed) as info:
        shell.run_line_magic("livy", "write first lh_modes")
    assert "table lh_modes already exists: use --mode append" in str(info.value)
    assert len(info.value._render_traceback_()) == 1
    assert livy(shell, "write more lh_modes --mode append").stdout.strip() == "Appended 1 rows of more to lh_modes."
    livy(shell, "read lh_modes -o modes -q")
    assert sorted(shell.user_ns["modes"]["id"].tolist()) == [1, 2, 3]
    assert livy(shell, "write more lh_modes --mode overwrite").stdout.strip() == "Wrote 1 rows of more over lh_modes."
    livy(shell, "read lh_modes -o modes -q")
    assert shell.user_ns["modes"].to_dict("records") == [{"name": "c", "id": 3}]


def test_append_with_a_mismatched_schema_is_one_clear_error(shell: Any, notebook: Any) -> None:
    remote(shell, "spark.sql('DROP TABLE IF EXISTS lh_strict')")
    shell.user_ns["strict"] = pd.DataFrame({"id": [1], "amount": [1.5]})
    livy(shell, "write strict lh_strict --partition-by id")
    shell.user_ns["other"] = pd.DataFrame({"id": ["x"], "total": [2.0]})
    with pytest.raises(StatementFailed) as info:
        shell.run_line_magic("livy", "write other lh_strict --mode append")
    [line] = info.value._render_traceback_()
    assert line.startswith("SchemaMismatch: cannot append to lh_strict: missing amount; not in the table: total; "
                           "id is bigint in the table but string here.")
    assert "--mode overwrite" in line
    livy(shell, "read lh_strict -o strict_back -q")
    assert shell.user_ns["strict_back"].to_dict("records") == [{"amount": 1.5, "id": 1}]
    leftovers = remote(shell, "print(sorted(k for k in globals() if k.startswith('_flm')))")
    assert leftovers.strip() == "[]"


def test_sql_parameters_are_bound_not_pasted(shell: Any, sales: str) -> None:
    shell.user_ns.update(
        region="north", floor=decimal.Decimal("5.00"), since=datetime.date(2024, 1, 2),
        at=datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc),
        wall=datetime.datetime(2024, 1, 2, 3, 4, 5, 7), ids=[1, 3, 99], flag=True, nothing=None,
        raw=b"\x00\xff", sneaky="north' OR '1'='1", big=np.int64(2**40))
    cap = sql(shell, "-o found", """
        SELECT id, amount, :since AS since, :at AS at, :wall AS wall, :flag AS flag,
               :nothing AS nothing, :raw AS raw, :big AS big, ':region' AS literal
        FROM lh_sales
        WHERE region = :region AND amount > :floor AND array_contains(:ids, id)  -- :not_a_parameter
        ORDER BY id""")
    found = shell.user_ns["found"]
    assert found["id"].tolist() == [1, 3] and "text/html" in cap.outputs[0].data
    row = found.iloc[0]
    assert row["since"] == datetime.date(2024, 1, 2) and row["flag"] and row["nothing"] is None
    assert row["at"] == pd.Timestamp("2024-01-02 03:04:05.000006", tz="UTC")
    assert row["wall"] == pd.Timestamp("2024-01-02 03:04:05.000007") and str(found["wall"].dtype) == "datetime64[us]"
    assert row["raw"] == b"\x00\xff" and row["big"] == 2**40 and row["literal"] == ":region"
    injected = sql(shell, "-o none_found", "SELECT count(*) AS n FROM lh_sales WHERE region = :sneaky")
    assert shell.user_ns["none_found"]["n"].tolist() == [0] and injected.outputs


def test_undefined_parameter_is_a_usage_error_before_any_call(shell: Any, sales: str, statements: Any) -> None:
    shell.user_ns.pop("undefined_thing", None)
    before = statements()
    with pytest.raises(UsageError, match=r"^SQL parameter :undefined_thing \(statement 2\) is not defined"):
        shell.run_cell_magic("livy_sql", "", "SELECT 1;\nSELECT :undefined_thing")
    shell.user_ns["weird"] = object()
    with pytest.raises(UsageError, match="SQL parameter :weird cannot be passed to Spark"):
        shell.run_cell_magic("livy_sql", "", "SELECT :weird")
    assert statements() == before


def test_multi_statement_cell_shows_the_last_result(shell: Any, sales: str) -> None:
    cap = sql(shell, "-o last", """
        DROP VIEW IF EXISTS lh_tmp;  -- comments; and 'quotes;' are fine
        CREATE TEMP VIEW lh_tmp AS SELECT id, ';' AS semi FROM lh_sales WHERE id < 3;
        SELECT * FROM lh_tmp ORDER BY id;""")
    assert shell.user_ns["last"].values.tolist() == [[1, ";"], [2, ";"]]
    assert len(cap.outputs) == 1


def test_failing_statement_stops_the_cell_and_is_named(shell: Any, sales: str) -> None:
    remote(shell, "spark.sql('DROP VIEW IF EXISTS lh_after'); spark.sql('DROP VIEW IF EXISTS lh_before')")
    cell = ("CREATE TEMP VIEW lh_before AS SELECT 1 AS one;\n"
            "SELECT no_such_column FROM lh_sales;\n"
            "CREATE TEMP VIEW lh_after AS SELECT 1 AS one")
    with pytest.raises(StatementFailed) as info:
        shell.run_cell_magic("livy_sql", "", cell)
    assert "statement 2 of 3 (line 2) failed" in str(info.value) and "no_such_column" in str(info.value)
    assert remote(shell, "print(spark.catalog.tableExists('lh_before'), spark.catalog.tableExists('lh_after'))"
                  ).strip() == "True False"
    shell.user_ns["limit"] = 1
    with pytest.raises(StatementFailed, match=r"statement 2 of 2 \(line 2\) failed"):
        shell.run_cell_magic("livy_sql", "", "SELECT :limit;\nSELECT nope FROM lh_sales WHERE id = :limit")


def test_single_plain_statement_keeps_its_old_path(shell: Any, sales: str) -> None:
    cap = sql(shell, "", "SELECT count(*) AS n FROM lh_sales;")
    assert "4" in cap.outputs[0].data["text/plain"]


def _write_package(root: Path, version: int) -> None:
    (root / "lh_helpers").mkdir(exist_ok=True)
    (root / "lh_helpers" / "__init__.py").write_text("from .maths import double, VERSION\n")
    (root / "lh_helpers" / "maths.py").write_text(
        f"VERSION = {version}\n\ndef double(x):\n    return x * {2 * version}\n\ndef boom():\n    raise ValueError('from a sent module')\n")


def test_send_module_package_then_resend_after_editing(shell: Any, notebook: Any, tmp_path: Path) -> None:
    _write_package(tmp_path, 1)
    cap = livy(shell, f"send-module {tmp_path / 'lh_helpers'}")
    assert cap.stdout.startswith("Sent lh_helpers (2 modules,")
    out = remote(shell, (
        "import lh_helpers\nfrom lh_helpers import maths\nkept = lh_helpers\n"
        "from pyspark.sql import functions as F, types as T\n"
        "twice = F.udf(lambda v: lh_helpers.double(v), T.LongType())\n"
        "print(lh_helpers.VERSION, [r[0] for r in spark.range(3).select(twice('id')).collect()])"))
    assert out.splitlines()[0] == "1 [0, 2, 4]"  # the UDF ran in Python workers: the code travelled with it

    _write_package(tmp_path, 2)
    cap = livy(shell, f"send-module {tmp_path / 'lh_helpers'}")
    assert cap.stdout.startswith("Replaced lh_helpers")
    assert remote(shell, "print(kept.VERSION, kept.double(5), maths.VERSION)").strip() == "2 20 2"
    with pytest.raises(StatementFailed) as info:
        shell.run_cell_magic("livy", "", "maths.boom()")
    assert any("raise ValueError('from a sent module')" in line for line in info.value.traceback)

    (tmp_path / "solo.py").write_text("ANSWER = 42\n")
    livy(shell, f"send-module {tmp_path / 'solo.py'} --as solo_renamed")
    assert remote(shell, "import solo_renamed\nprint(solo_renamed.ANSWER)").strip() == "42"


def test_send_module_by_name_and_refusals(shell: Any, notebook: Any, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a module written in Python source"):
        shell.run_line_magic("livy", "send-module math")
    with pytest.raises(StatementFailed, match="standard library module"):
        shell.run_line_magic("livy", "send-module fabric_livy_magics.livy.sql_text --as json")
    cap = livy(shell, "send-module fabric_livy_magics.livy.sql_text --as lh_sql_text")
    assert cap.stdout.startswith("Sent lh_sql_text (1 module,")
