"""A statement's output as display items: text, image, table, JSON. No HTTP, no IPython calls.

The notebook layer shows the items (``text`` printed as the remote printed it; ``image/png`` as an
image; tables as pandas DataFrames; other JSON pretty-printed). MIME types follow Livy's Python
REPL: ``text/plain``, ``image/png`` (base64), ``application/json``, and
``application/vnd.livy.table.v1+json`` ``{headers: [{name, type}], data}``; the ``sql`` kind
answers ``application/json`` ``{schema: <Spark struct JSON>, data: [[...]]}``. A failed
statement raises ``StatementFailed`` (its traceback is the remote one).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fabric_livy_magics.errors import MalformedResponse
from fabric_livy_magics.livy.models import StatementOutput

if TYPE_CHECKING:
    import pandas

__all__ = [
    "DisplayItem",
    "ImageItem",
    "JsonItem",
    "TableItem",
    "TextItem",
    "render_output",
    "table_from_livy",
    "table_from_records",
    "table_from_sql",
    "truncation_note",
]

TEXT_MIME = "text/plain"
PNG_MIME = "image/png"
JSON_MIME = "application/json"
TABLE_MIME = "application/vnd.livy.table.v1+json"
HTML_MIME = "text/html"


@dataclass(frozen=True)
class TextItem:
    """Text exactly as the remote code printed it."""

    text: str


@dataclass(frozen=True)
class ImageItem:
    """A PNG image (decoded bytes)."""

    png: bytes


@dataclass(frozen=True)
class TableItem:
    """A table as a pandas DataFrame; ``note`` says when rows were cut at ``maxrows``."""

    frame: pandas.DataFrame
    truncated: bool = False
    total_rows: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class JsonItem:
    """JSON that is not a table: shown pretty-printed, kept as data for rich frontends."""

    data: Any
    text: str


DisplayItem = TextItem | ImageItem | TableItem | JsonItem


def truncation_note(shown: int, total: int | None, maxrows: int) -> str:
    """The visible line under a cut table."""
    of = f" of {total:,}" if total is not None else ""
    return (f"Showing the first {shown:,}{of} rows (maxrows {maxrows:,}). Use -n N for more, "
            "or -n -1 for all.")


def render_output(output: StatementOutput | None, *, maxrows: int | None = 2500) -> list[DisplayItem]:
    """Display items for a finished statement's output; raises StatementFailed for an error.

    ``maxrows`` (None or negative: no limit) caps the rows of a table shown."""
    if output is None:
        return []
    output.raise_for_status()
    limit = None if maxrows is None or maxrows < 0 else maxrows
    data = output.data
    items: list[DisplayItem] = []
    if PNG_MIME in data:
        items.append(_image(data[PNG_MIME]))
    if TABLE_MIME in data:
        items.append(_cap(table_from_livy(data[TABLE_MIME]), limit))
    elif JSON_MIME in data:
        items.append(_json_item(data[JSON_MIME], limit))
    text = data.get(TEXT_MIME)
    if isinstance(text, str) and text:
        # Printed output comes first, also before the %table/%json/%matplot a cell ended with.
        items.insert(0, TextItem(text))
    return items


def _image(value: Any) -> ImageItem:
    if isinstance(value, (bytes, bytearray)):
        return ImageItem(bytes(value))
    try:
        return ImageItem(base64.b64decode(str(value), validate=False))
    except (binascii.Error, ValueError) as exc:
        raise MalformedResponse(f"The statement's image/png output is not base64: {exc}.") from exc


def _json_item(value: Any, limit: int | None) -> DisplayItem:
    if isinstance(value, dict) and isinstance(value.get("schema"), dict) and "data" in value:
        try:
            return _cap(table_from_sql(value), limit)
        except (KeyError, TypeError, ValueError):
            pass
    if _is_records(value):
        return _cap(table_from_records(value), limit)
    return JsonItem(value, json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _is_records(value: Any) -> bool:
    """A non-empty list of flat-ish dicts: tabular."""
    return (isinstance(value, list) and bool(value) and all(isinstance(row, dict) for row in value))


def _cap(frame: pandas.DataFrame, limit: int | None) -> TableItem:
    total = len(frame)
    if limit is not None and total > limit:
        return TableItem(frame.head(limit), truncated=True, total_rows=total,
                         note=truncation_note(limit, total, limit))
    return TableItem(frame, total_rows=total)


def table_from_records(records: Sequence[dict[str, Any]]) -> pandas.DataFrame:
    """``[{col: value}, ...]`` -> DataFrame with columns in first-seen order."""
    import pandas as pd

    names: list[str] = []
    for row in records:
        names.extend(str(k) for k in row if str(k) not in names)
    return pd.DataFrame([[row.get(n) for n in names] for row in records],
                        columns=pd.Index(names, dtype=object))


# Livy's table column types (Livy repl: ``TableOutput``/``%table``).
_LIVY_TYPES = {
    "INT_TYPE": "integer", "BIGINT_TYPE": "long", "LONG_TYPE": "long", "SMALLINT_TYPE": "short",
    "TINYINT_TYPE": "byte", "DOUBLE_TYPE": "double", "FLOAT_TYPE": "double",
    "BOOLEAN_TYPE": "boolean", "STRING_TYPE": "string", "CHAR_TYPE": "string",
    "VARCHAR_TYPE": "string", "DATE_TYPE": "date", "TIMESTAMP_TYPE": "timestamp_text",
    "DECIMAL_TYPE": "decimal_any", "BINARY_TYPE": "binary", "NULL_TYPE": "null",
}


def table_from_livy(table: Any) -> pandas.DataFrame:
    """Livy's ``{headers: [{name, type}], data: [[...]]}`` -> DataFrame typed from the headers."""
    if not isinstance(table, dict) or not isinstance(table.get("headers"), list):
        raise MalformedResponse("The table output has no 'headers' list.")
    headers = table["headers"]
    rows = table.get("data") or []
    names = [str(h.get("name", i)) if isinstance(h, dict) else str(h) for i, h in enumerate(headers)]
    kinds = [_LIVY_TYPES.get(str(h.get("type", "")).upper(), "object") if isinstance(h, dict)
             else "object" for h in headers]
    return _typed_frame(names, kinds, rows)


def table_from_sql(result: dict[str, Any]) -> pandas.DataFrame:
    """The ``sql`` kind's ``{schema, data}`` -> DataFrame typed from the Spark schema.

    Types go through the same Arrow step as ``-o`` transfers (``transfer.decode``), so an
    ``int`` column is int32, a nullable one Int32, ``timestamp`` is UTC-aware, and so on."""
    fields = result["schema"]["fields"]
    names = [str(f["name"]) for f in fields]
    rows = result.get("data") or []
    import pyarrow as pa

    from fabric_livy_magics.transfer.decode import arrow_to_pandas, spark_type_to_arrow

    arrays = []
    for index, spark_field in enumerate(fields):
        spark_type = spark_field["type"]
        arrow_type = spark_type_to_arrow(spark_type)
        values = [_from_json(row[index] if index < len(row) else None, spark_type) for row in rows]
        try:
            arrays.append(pa.array(values, type=arrow_type))
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            arrays.append(pa.array([None if v is None else str(v) for v in values], type=pa.string()))
    if not arrays:
        import pandas as pd

        return pd.DataFrame(index=pd.RangeIndex(len(rows)))
    table = pa.Table.from_arrays(arrays, names=[f"_{i}" for i in range(len(arrays))])
    return arrow_to_pandas(table, names)


def _from_json(value: Any, spark_type: Any) -> Any:
    """A JSON value as the Python object Arrow expects for ``spark_type``."""
    if value is None:
        return None
    if isinstance(spark_type, dict):
        kind = spark_type.get("type")
        if kind == "struct" and isinstance(value, dict):
            return {f["name"]: _from_json(value.get(f["name"]), f["type"]) for f in spark_type["fields"]}
        if kind == "struct" and isinstance(value, list):
            return {f["name"]: _from_json(v, f["type"]) for f, v in zip(spark_type["fields"], value)}
        if kind == "array" and isinstance(value, list):
            return [_from_json(v, spark_type["elementType"]) for v in value]
        if kind == "map" and isinstance(value, dict):
            return [(_from_json(k, spark_type["keyType"]), _from_json(v, spark_type["valueType"]))
                    for k, v in value.items()]
        return value
    name = str(spark_type)
    if name == "timestamp":
        stamp = _parse_timestamp(value)
        if stamp is not None and stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=datetime.UTC)
        return stamp
    if name == "timestamp_ntz":
        stamp = _parse_timestamp(value)
        return stamp.replace(tzinfo=None) if stamp is not None else None
    if name == "date" and isinstance(value, str):
        return datetime.date.fromisoformat(value[:10])
    if name.startswith("decimal"):
        return decimal.Decimal(str(value))
    if name == "binary" and isinstance(value, str):
        return base64.b64decode(value)
    return value


def _parse_timestamp(value: Any) -> datetime.datetime | None:
    if isinstance(value, (int, float)):  # epoch milliseconds (some servers)
        return datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)
    text = str(value).strip().replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(text)


def _typed_frame(names: list[str], kinds: list[str], rows: list[Any]) -> pandas.DataFrame:
    import pandas as pd

    columns: dict[int, Any] = {}
    for index, kind in enumerate(kinds):
        values = [row[index] if isinstance(row, list) and index < len(row) else None for row in rows]
        columns[index] = _livy_column(values, kind)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))
    frame.columns = pd.Index(names, dtype=object)
    return frame


def _livy_column(values: list[Any], kind: str) -> pandas.Series:
    import pandas as pd

    has_null = any(v is None for v in values)
    try:
        if kind in ("integer", "long", "short", "byte"):
            return pd.Series(values, dtype="Int64" if has_null else "int64")
        if kind == "double":
            return pd.Series([float("nan") if v is None else float(v) for v in values], dtype="float64")
        if kind == "boolean":
            return pd.Series(values, dtype="boolean" if has_null else "bool")
        if kind == "string":
            return pd.Series(values, dtype="str")
        if kind == "date":
            return pd.Series([None if v is None else datetime.date.fromisoformat(str(v)[:10])
                              for v in values], dtype=object)
        if kind == "timestamp_text":
            return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)))
        if kind == "decimal_any":
            return pd.Series([None if v is None else decimal.Decimal(str(v)) for v in values],
                             dtype=object)
    except (TypeError, ValueError, OverflowError):
        pass
    return pd.Series(values, dtype=object)
