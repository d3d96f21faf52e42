"""A statement's output as display items: text, image, table, JSON. No HTTP, no IPython calls.

The notebook layer shows the items (``text`` printed as the remote printed it; ``image/png`` as an
image; tables as pandas DataFrames; other JSON pretty-printed). MIME types follow Livy's Python
REPL: ``text/plain``, ``image/png`` (base64), ``application/json``, and
``application/vnd.livy.table.v1+json`` ``{headers: [{name, type}], data}``; the ``sql`` kind
answers ``application/json`` ``{schema: <Spark struct JSON>, data: [[...]]}``. A failed
statement raises ``StatementFailed`` (its traceback is the remote one).

Printed text is capped (``MAX_OUTPUT_LINES`` lines, ``MAX_OUTPUT_CHARS`` characters) with a note:
a cell that prints 100,000 lines would otherwise put megabytes into the saved notebook. The whole
text of the last output stays here, for ``%livy output``.
"""

from __future__ import annotations

import base64
import binascii
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
    "capped_text",
    "last_output",
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

#: Printed output shown under a cell, at most (the rest: ``%livy output``).
MAX_OUTPUT_LINES = 5000
MAX_OUTPUT_CHARS = 500_000

_last_output: str | None = None


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


def capped_text(text: str, *, max_lines: int = MAX_OUTPUT_LINES,
                max_chars: int = MAX_OUTPUT_CHARS) -> tuple[str, str | None]:
    """The part of ``text`` to show and, when it was cut, the note saying so and how to see all.
    Remembers ``text`` for ``last_output``."""
    global _last_output
    _last_output = text
    lines = text.splitlines(keepends=True)
    if len(lines) <= max_lines and len(text) <= max_chars:
        return text, None
    shown = "".join(lines[:max_lines])[:max_chars]
    kept = shown.count("\n") + (0 if shown.endswith("\n") else 1)
    note = (f"[output cut: showing {kept:,} of {len(lines):,} lines ({len(shown):,} of {len(text):,} "
            "characters). `%livy output` shows all of it; `%livy output --file PATH` saves it.]")
    return shown, note


def last_output() -> str | None:
    """The whole text of the last printed output shown under a cell, if any."""
    return _last_output


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


# Livy's table column types (Livy repl: ``TableOutput``/``%table``) as Spark types, so a ``%table``
# goes through the same decoder and Arrow step as every other result. Types not listed (nested
# values) stay the Python objects the JSON held.
_LIVY_TYPES = {
    "INT_TYPE": "long", "BIGINT_TYPE": "long", "LONG_TYPE": "long", "SMALLINT_TYPE": "long",
    "TINYINT_TYPE": "long", "DOUBLE_TYPE": "double", "FLOAT_TYPE": "double",
    "BOOLEAN_TYPE": "boolean", "STRING_TYPE": "string", "CHAR_TYPE": "string",
    "VARCHAR_TYPE": "string", "DATE_TYPE": "date", "TIMESTAMP_TYPE": "timestamp_ntz",
    "DECIMAL_TYPE": "decimal", "BINARY_TYPE": "binary", "NULL_TYPE": "null",
}


def table_from_livy(table: Any) -> pandas.DataFrame:
    """Livy's ``{headers: [{name, type}], data: [[...]]}`` -> DataFrame typed from the headers."""
    import pandas as pd

    from fabric_livy_magics.transfer.decode import SPARK_JSON, arrow_to_pandas, rows_to_arrow

    if not isinstance(table, dict) or not isinstance(table.get("headers"), list):
        raise MalformedResponse("The table output has no 'headers' list.")
    headers = table["headers"]
    rows = [row if isinstance(row, list) else [] for row in (table.get("data") or [])]
    columns: dict[int, Any] = {}
    for index, header in enumerate(headers):
        values = [row[index] if index < len(row) else None for row in rows]
        spark_type = _LIVY_TYPES.get(str(header.get("type", "")).upper()) if isinstance(header, dict) else None
        if spark_type == "decimal":
            spark_type = _decimal_type(values)
        if spark_type is None:
            columns[index] = pd.Series(values, dtype=object)
            continue
        arrow = rows_to_arrow([{"type": spark_type}], [[v] for v in values], SPARK_JSON, lenient=True)
        columns[index] = arrow_to_pandas(arrow, ["_"])["_"]
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))
    frame.columns = pd.Index([str(h.get("name", i)) if isinstance(h, dict) else str(h)
                              for i, h in enumerate(headers)], dtype=object)
    return frame


def _decimal_type(values: list[Any]) -> str:
    """Livy's DECIMAL_TYPE has no precision: the widest scale the values need."""
    scale = 0
    for value in values:
        try:
            exponent = decimal.Decimal(str(value)).as_tuple().exponent
        except (decimal.InvalidOperation, ValueError):
            continue
        if isinstance(exponent, int):
            scale = max(scale, -exponent)
    return f"decimal(38,{min(scale, 38)})"


def table_from_sql(result: dict[str, Any]) -> pandas.DataFrame:
    """The ``sql`` kind's ``{schema, data}`` -> DataFrame typed from the Spark schema.

    Values go through the one Spark-JSON decoder and the same Arrow step as ``-o`` transfers
    (``transfer.decode``), so an ``int`` column is int32, a nullable one Int32, ``timestamp`` is
    UTC-aware, and so on."""
    from fabric_livy_magics.transfer.decode import SPARK_JSON, arrow_to_pandas, rows_to_arrow

    fields = result["schema"]["fields"]
    names = [str(f["name"]) for f in fields]
    rows = result.get("data") or []
    if not fields:
        import pandas as pd

        return pd.DataFrame(index=pd.RangeIndex(len(rows)))
    return arrow_to_pandas(rows_to_arrow(fields, rows, SPARK_JSON, lenient=True), names)
