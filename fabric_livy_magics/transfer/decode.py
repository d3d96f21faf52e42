"""Payloads to pandas with exact, predictable dtypes. Both wire encodings end in the same Arrow step.

The local dtypes (documented in the README's "Results" section):

==========================  ===============================================================
Spark type                  pandas column
==========================  ===============================================================
byte/short/int/long         int8/16/32/64; nullable Int8/16/32/64 when the column has nulls
float/double                float32/float64 (null becomes NaN, as pandas has no other way)
boolean                     bool; nullable ``boolean`` when the column has nulls
string                      pandas' default string dtype (``str`` on pandas 3)
timestamp                   ``datetime64[us, UTC]`` (microseconds: Spark's full year range fits)
timestamp_ntz               ``datetime64[us]`` (naive wall time)
date                        ``datetime.date`` objects
decimal(p, s)               ``decimal.Decimal`` objects: exact, every precision up to 38
binary                      ``bytes`` objects
struct / array / map        ``dict`` / ``list`` / ``dict`` objects (nested values typed as above)
interval day to second      ``timedelta64[us]``
void (null type)            objects, all None
==========================  ===============================================================
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import json
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fabric_livy_magics.errors import MalformedResponse

if TYPE_CHECKING:
    import pandas
    import pyarrow

__all__ = [
    "SPARK_JSON", "TRANSFER_JSON", "arrow_to_pandas", "decode_arrow_payload", "decode_json_payload",
    "json_value_decoder", "rows_to_arrow", "spark_type_to_arrow",
]  # fmt: skip

_EPOCH_UTC = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_EPOCH_NAIVE = datetime.datetime(1970, 1, 1)
_EPOCH_DATE = datetime.date(1970, 1, 1)
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")


def decode_arrow_payload(payload: str) -> pyarrow.Table:
    """base64 Arrow IPC stream text -> Arrow table; damage becomes MalformedResponse."""
    import binascii

    import pyarrow as pa

    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedResponse(f"The transferred result is not valid base64: {exc}.") from exc
    try:
        return pa.ipc.open_stream(pa.py_buffer(raw)).read_all()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise MalformedResponse(f"The transferred result is not a readable Arrow stream: {exc}.") from exc


def arrow_to_pandas(table: pyarrow.Table, names: Sequence[str]) -> pandas.DataFrame:
    """Arrow table (positional columns) -> pandas DataFrame with ``names`` (duplicates allowed)."""
    import pandas as pd

    if table.num_columns != len(names):
        raise MalformedResponse(
            f"The transferred result has {table.num_columns} columns but {len(names)} names."
        )
    columns = {i: _column_to_pandas(table.column(i)) for i in range(table.num_columns)}
    frame = pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))
    frame.columns = pd.Index(list(names))
    return frame


def _column_to_pandas(col: pyarrow.ChunkedArray) -> pandas.Series:
    import pandas as pd
    import pyarrow as pa

    t = col.type
    types = pa.types
    if types.is_integer(t):
        if col.null_count:
            name = str(t)  # int32 -> Int32, uint8 -> UInt8
            nullable = pd.api.types.pandas_dtype("UInt" + name[4:] if name[0] == "u" else "I" + name[1:])
            return col.to_pandas(types_mapper=lambda _: nullable)
        return col.to_pandas()
    if types.is_boolean(t):
        if col.null_count:
            return col.to_pandas(types_mapper=lambda _: pd.BooleanDtype())
        return col.to_pandas()
    if types.is_floating(t) or types.is_string(t) or types.is_large_string(t):
        return col.to_pandas()
    if types.is_timestamp(t):
        series = col.to_pandas(coerce_temporal_nanoseconds=False)
        return series.dt.tz_convert("UTC") if t.tz is not None else series
    if types.is_duration(t):
        return col.to_pandas(coerce_temporal_nanoseconds=False)
    if types.is_date(t):
        return pd.Series(col.to_pylist(), dtype=object)
    if types.is_nested(t):
        try:
            values = col.to_pylist(maps_as_pydicts="strict")
        except (TypeError, ValueError, pa.ArrowException):
            values = col.to_pylist()  # map keys that cannot be dict keys stay (key, value) pairs
        return pd.Series(values, dtype=object)
    # decimal, binary, null and anything else: exact Python objects.
    return pd.Series(col.to_pylist(), dtype=object)


# --------------------------------------------------------------------------- JSON fallback


def spark_type_to_arrow(spark_type: Any) -> pyarrow.DataType:
    """A Spark type in its JSON form (``DataType.jsonValue()``) -> the Arrow type Spark would use."""
    import pyarrow as pa

    if isinstance(spark_type, dict):
        kind = spark_type.get("type")
        if kind == "struct":
            return pa.struct([
                pa.field(f["name"], spark_type_to_arrow(f["type"]), f.get("nullable", True))
                for f in spark_type["fields"]
            ])
        if kind == "array":
            return pa.list_(spark_type_to_arrow(spark_type["elementType"]))
        if kind == "map":
            return pa.map_(spark_type_to_arrow(spark_type["keyType"]),
                           spark_type_to_arrow(spark_type["valueType"]))
        return pa.string()
    simple = {
        "byte": pa.int8(), "short": pa.int16(), "integer": pa.int32(), "long": pa.int64(),
        "float": pa.float32(), "double": pa.float64(), "boolean": pa.bool_(),
        "string": pa.string(), "binary": pa.binary(), "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"), "timestamp_ntz": pa.timestamp("us"),
        "null": pa.null(), "void": pa.null(),
    }
    if spark_type in simple:
        return simple[spark_type]
    match = _DECIMAL.match(str(spark_type))
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    if str(spark_type).startswith("interval day") or str(spark_type) == "interval second":
        return pa.duration("us")
    return pa.string()  # char/varchar and types without an exact form arrive as text


#: How values arrive in JSON. ``SPARK_JSON``: Spark's own JSON (the ``sql`` kind's answer, Livy's
#: ``%table``): ISO date/time text, structs as objects, maps as objects. ``TRANSFER_JSON``: this
#: package's fallback encoding (``_remote._encoder``): epoch microseconds and days, structs as
#: lists, maps as ``[key, value]`` pairs.
SPARK_JSON = "spark"
TRANSFER_JSON = "transfer"


def json_value_decoder(spark_type: Any, wire: str = TRANSFER_JSON) -> Callable[[Any], Any]:
    """The one decoder from a JSON value of ``spark_type`` to the Python object Arrow expects.

    Values are never None here (callers keep None as null). Both encodings go through it, so a
    column gets the same type whichever way it travelled."""
    if isinstance(spark_type, dict):
        kind = spark_type.get("type")
        if kind == "struct":
            fields = [(f["name"], json_value_decoder(f["type"], wire)) for f in spark_type["fields"]]

            def struct(value: Any) -> dict[str, Any]:
                items = [value.get(n) for n, _ in fields] if isinstance(value, dict) else value
                return {n: (None if x is None else d(x)) for (n, d), x in zip(fields, items)}

            return struct
        if kind == "array":
            inner = json_value_decoder(spark_type["elementType"], wire)
            return lambda v: [None if x is None else inner(x) for x in v]
        if kind == "map":
            key = json_value_decoder(spark_type["keyType"], wire)
            value = json_value_decoder(spark_type["valueType"], wire)

            def pairs(v: Any) -> list[tuple[Any, Any]]:
                items = v.items() if isinstance(v, dict) else v
                return [(key(k), None if x is None else value(x)) for k, x in items]

            return pairs
        return str
    name = str(spark_type)
    if name in ("timestamp", "timestamp_ntz"):
        aware = name == "timestamp"
        if wire == TRANSFER_JSON:
            epoch = _EPOCH_UTC if aware else _EPOCH_NAIVE
            return lambda v: epoch + datetime.timedelta(microseconds=v)
        return lambda v: _spark_timestamp(v, aware)
    if name == "date":
        if wire == TRANSFER_JSON:
            return lambda v: _EPOCH_DATE + datetime.timedelta(days=v)
        return lambda v: datetime.date.fromisoformat(v[:10]) if isinstance(v, str) else v
    if name == "binary":
        return lambda v: base64.b64decode(v) if isinstance(v, str) else v
    if _DECIMAL.match(name):
        return lambda v: decimal.Decimal(str(v))
    if wire == TRANSFER_JSON and (name.startswith("interval day") or name == "interval second"):
        return lambda v: datetime.timedelta(microseconds=v)
    return lambda v: v


def _spark_timestamp(value: Any, aware: bool) -> datetime.datetime:
    """Spark's timestamp text (or epoch milliseconds, as some servers send) as a datetime."""
    if isinstance(value, (int, float)):
        stamp = datetime.datetime.fromtimestamp(value / 1000, tz=datetime.timezone.utc)
    else:
        stamp = datetime.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if aware:
        return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.replace(tzinfo=None)


def rows_to_arrow(fields: Sequence[Any], rows: Sequence[Any], wire: str, *,
                  lenient: bool = False) -> pyarrow.Table:
    """Rows of JSON values with their Spark schema ``fields`` -> an Arrow table named ``_0, _1 ...``.

    ``lenient`` (results shown to a person): a short row reads as nulls and a column whose values
    do not fit its type becomes text; otherwise (transfers, which must be exact) both raise
    MalformedResponse."""
    import pyarrow as pa

    arrays = []
    for index, spark_field in enumerate(fields):
        spark_type = spark_field["type"]
        decode = json_value_decoder(spark_type, wire)
        arrow_type = spark_type_to_arrow(spark_type)
        raw = [_cell(row, index, lenient) for row in rows]
        try:
            arrays.append(pa.array([None if v is None else decode(v) for v in raw], type=arrow_type))
        except (pa.ArrowException, TypeError, ValueError, OverflowError, AttributeError,
                decimal.InvalidOperation, binascii.Error) as exc:
            if not lenient:
                raise MalformedResponse(f"The transferred JSON result could not be read: {exc}.") from exc
            arrays.append(pa.array([None if v is None else str(v) for v in raw], type=pa.string()))
    return pa.Table.from_arrays(arrays, names=[f"_{i}" for i in range(len(arrays))])


def _cell(row: Any, index: int, lenient: bool) -> Any:
    if lenient:
        return row[index] if isinstance(row, (list, tuple)) and index < len(row) else None
    try:
        return row[index]
    except (IndexError, TypeError, KeyError) as exc:
        raise MalformedResponse(f"The transferred JSON result has a short row: {exc}.") from exc


def decode_json_payload(payload: str) -> pyarrow.Table:
    """JSON rows + Spark schema text -> Arrow table typed exactly as the Arrow route would be."""
    try:
        body = json.loads(payload)
        fields = body["schema"]["fields"]
        rows = body["rows"]
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedResponse(f"The transferred JSON result could not be read: {exc}.") from exc
    return rows_to_arrow(fields, rows, TRANSFER_JSON)
