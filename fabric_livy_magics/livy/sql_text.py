"""Read a SQL cell as Spark's parser would, without running it: statements and ``:name`` markers.

Pure text work, no Spark: a cell is split at the semicolons that end statements, and the named
parameter markers (``:name``) are found, both outside string literals, quoted identifiers and
comments. Spark's lexer is the reference (``SqlBaseLexer.g4``): strings in ``'...'`` or
``"..."`` with backslash escapes (raw ``r'...'`` without), identifiers in backquotes (a doubled
backquote stands for one), ``--`` comments to the end of the line and ``/* ... */`` comments,
which nest. ``a::int`` is a cast, not a marker; ``struct<a:int>`` has no marker either (a marker
never follows a letter or digit).

``encode_parameter`` turns a local value bound to a marker into a tagged JSON value, refusing
what Spark cannot hold exactly; the value is bound by Spark, never written into the SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fabric_livy_magics.errors import ConfigurationError

__all__ = ["SqlStatement", "encode_parameter", "is_catalog_change", "parameter_names", "split_statements"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class SqlStatement:
    """One statement of a cell: its text (comments kept), 1-based number and first line."""

    text: str
    number: int
    line: int
    parameters: tuple[str, ...] = ()


def _scan(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(index, char)`` for every character that is code: not in a literal or a comment.

    Unterminated literals and comments run to the end of the text (Spark reports them)."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            raw = i > 0 and text[i - 1] in "rR" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] == "_"))
            i += 1
            while i < n and text[i] != c:
                i += 2 if text[i] == "\\" and not raw else 1
            i += 1
        elif c == "`":
            i += 1
            while i < n:
                if text[i] == "`":
                    if text[i + 1:i + 2] == "`":
                        i += 2
                        continue
                    break
                i += 1
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        else:
            yield i, c
            i += 1


def parameter_names(text: str) -> tuple[str, ...]:
    """The ``:name`` markers in ``text`` outside literals and comments, in order, each once."""
    code = dict(_scan(text))
    found: list[str] = []
    for i, c in code.items():
        if c != ":" or code.get(i + 1) == ":" or code.get(i - 1) == ":":
            continue
        before = text[i - 1] if i > 0 else ""
        if before and (before.isalnum() or before == "_"):
            continue  # struct<a:int>, a map key a:b: not a marker
        match = _IDENTIFIER.match(text, i + 1)
        if match and match.group(0) not in found:
            found.append(match.group(0))
    return tuple(found)


def split_statements(text: str) -> list[SqlStatement]:
    """The statements of a SQL cell, in order. Empty ones (only blanks or comments) are dropped;
    a trailing ``;`` is optional. Each statement's text is exactly what the cell holds between
    its semicolons, stripped of surrounding blank space."""
    code = [(i, c) for i, c in _scan(text) if not c.isspace()]
    cuts = [i for i, c in code if c == ";"]
    statements: list[SqlStatement] = []
    start = 0
    for end in [*cuts, len(text)]:
        first = next((i for i, c in code if start <= i < end), None)  # its first code character
        if first is not None:
            stripped = text[start:end].strip()
            statements.append(SqlStatement(text=stripped, number=len(statements) + 1,
                                           line=text.count("\n", 0, first) + 1,
                                           parameters=parameter_names(stripped)))
        start = end + 1
    return statements


_CATALOG_CHANGE = re.compile(
    r"^\s*(create|drop|alter|rename|replace|msck|refresh|truncate|cache|uncache|use|set\s+catalog)\b",
    re.IGNORECASE)


def is_catalog_change(statement: str) -> bool:
    """True for statements that may add, drop or reshape tables (what a name cache must forget)."""
    code = "".join(c for _, c in _scan(statement))
    return bool(_CATALOG_CHANGE.match(code))


# --------------------------------------------------------------------------- parameter values

_INT64 = (-(2**63), 2**63 - 1)


def encode_parameter(name: str, value: Any) -> dict[str, Any]:
    """A local value as a JSON-safe tagged value the remote side turns back into the Python value
    Spark binds (``spark.sql(query, args=...)``). Types: None, bool, int (64-bit), float, str,
    Decimal (up to 38 digits), date, datetime (aware: TIMESTAMP; naive: TIMESTAMP_NTZ), bytes,
    and lists of these (ARRAY); numpy and pandas scalars as their Python values. Anything else,
    or a value Spark cannot hold exactly, raises ConfigurationError naming the parameter."""
    try:
        return _encode(value)
    except _Refused as exc:
        raise ConfigurationError(f"SQL parameter :{name} cannot be passed to Spark: {exc}.") from None


class _Refused(Exception):
    pass


def _encode(value: Any) -> dict[str, Any]:
    import base64
    import datetime
    import decimal
    import math

    value = _plain(value)
    if value is None:
        return {"t": "null"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise _Refused(f"{value} does not fit in a 64-bit BIGINT (pass a Decimal)")
        return {"t": "int", "v": value}
    if isinstance(value, float):
        return {"t": "float", "v": repr(value) if not math.isfinite(value) else value}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise _Refused(f"Decimal {value} has no Spark value")
        digits, exponent = len(value.as_tuple().digits), int(value.as_tuple().exponent)
        if (digits + exponent if exponent >= 0 else max(digits, -exponent)) > 38:
            raise _Refused(f"Decimal {value} needs more than Spark's 38 digits")
        return {"t": "decimal", "v": str(value)}
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            delta = value - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
            return {"t": "timestamp", "v": delta // datetime.timedelta(microseconds=1)}
        delta = value - datetime.datetime(1970, 1, 1)
        return {"t": "timestamp_ntz", "v": delta // datetime.timedelta(microseconds=1)}
    if isinstance(value, datetime.date):
        return {"t": "date", "v": value.toordinal()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"t": "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return {"t": "array", "v": [_encode(v) for v in value]}
    raise _Refused(f"a {type(value).__name__} is not a SQL value (use a number, text, date, "
                   "datetime, Decimal, bytes or a list of these)")


def _plain(value: Any) -> Any:
    """numpy/pandas scalars as Python values; missing markers (NA, NaT) as None."""
    module = type(value).__module__.split(".")[0]
    if module not in ("numpy", "pandas"):
        return value
    import pandas as pd

    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        if value.nanosecond:
            raise _Refused(f"{value} has nanoseconds; Spark keeps microseconds")
        return value.to_pydatetime()
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind == "M":
        return _plain(pd.Timestamp(value))
    if kind == "m":
        raise _Refused(f"{value} is a time interval; write it in SQL as INTERVAL '...'")
    if kind is not None:  # numpy scalars as Python values; arrays and Series as lists
        return value.item() if getattr(value, "ndim", 1) == 0 else [_plain(v) for v in value.tolist()]
    return value
