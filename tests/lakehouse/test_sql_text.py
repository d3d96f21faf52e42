"""A SQL cell read as Spark's lexer reads it: statements, ``:name`` markers, parameter values."""

from __future__ import annotations

import datetime
import decimal

import numpy as np
import pandas as pd
import pytest

from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy.sql_text import (
    encode_parameter,
    is_catalog_change,
    parameter_names,
    split_statements,
)


def texts(cell: str) -> list[str]:
    return [s.text for s in split_statements(cell)]


def test_statements_split_at_semicolons_outside_literals_and_comments() -> None:
    cell = """
    -- a comment; not a statement end
    CREATE TEMP VIEW v AS SELECT 'a;b' AS s, "c;d" AS t, `we;ird` FROM x;
    /* block; /* nested; */ still comment; */
    SELECT ';' AS semi, r'\\' AS raw;  ;
    SELECT 'it\\'s; fine'
    """
    assert texts(cell) == [
        "-- a comment; not a statement end\n    CREATE TEMP VIEW v AS SELECT 'a;b' AS s, \"c;d\" AS t, `we;ird` FROM x",
        "/* block; /* nested; */ still comment; */\n    SELECT ';' AS semi, r'\\' AS raw",
        "SELECT 'it\\'s; fine'",
    ]


def test_statements_know_their_number_and_line() -> None:
    statements = split_statements("select 1;\n\n-- only a comment;\nselect 2;\nselect\n 3")
    assert [(s.number, s.line) for s in statements] == [(1, 1), (2, 4), (3, 5)]
    assert split_statements("  -- nothing\n /* at all */ ;; ") == []


def test_markers_outside_quotes_comments_casts_and_types() -> None:
    sql = """SELECT :a, ':b', ":c", `:d`, x::int, cast(y AS struct<e:int>), 'x'  -- :g
             /* :h */ WHERE z = :a AND w IN (:i_2, :_j) AND t > :k"""
    assert parameter_names(sql) == ("a", "i_2", "_j", "k")
    assert parameter_names("select 1") == ()


def test_catalog_changes_are_recognised_past_comments() -> None:
    assert is_catalog_change("-- make it\nCREATE TABLE t (a int)")
    assert is_catalog_change("/* x */ drop view if exists v")
    assert not is_catalog_change("SELECT 'create table' AS s")
    assert not is_catalog_change("insert into t values (1)")


@pytest.mark.parametrize(("value", "tagged"), [
    (None, {"t": "null"}),
    (True, {"t": "bool", "v": True}),
    (np.int64(7), {"t": "int", "v": 7}),
    (2.5, {"t": "float", "v": 2.5}),
    (float("nan"), {"t": "float", "v": "nan"}),
    ("x' OR 1=1 --", {"t": "str", "v": "x' OR 1=1 --"}),
    (decimal.Decimal("12.345"), {"t": "decimal", "v": "12.345"}),
    (datetime.date(2024, 1, 2), {"t": "date", "v": datetime.date(2024, 1, 2).toordinal()}),
    (datetime.datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=datetime.timezone.utc), {"t": "timestamp", "v": 1_000_005}),
    (pd.Timestamp("1970-01-01 00:00:02"), {"t": "timestamp_ntz", "v": 2_000_000}),
    (b"\x00\xff", {"t": "bytes", "v": "AP8="}),
    ([1, None], {"t": "array", "v": [{"t": "int", "v": 1}, {"t": "null"}]}),
    (pd.NA, {"t": "null"}),
])
def test_parameter_values_are_tagged_exactly(value: object, tagged: dict) -> None:
    assert encode_parameter("p", value) == tagged


@pytest.mark.parametrize(("value", "reason"), [
    (2**63, "64-bit"),
    (decimal.Decimal("1" * 39), "38 digits"),
    (decimal.Decimal("NaN"), "no Spark value"),
    (pd.Timestamp("2024-01-01 00:00:00.000000001"), "nanoseconds"),
    (np.timedelta64(5, "s"), "interval"),
    ({"a": 1}, "not a SQL value"),
])
def test_values_spark_cannot_hold_are_refused_by_name(value: object, reason: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"^SQL parameter :p cannot be passed to Spark: .*{reason}"):
        encode_parameter("p", value)
