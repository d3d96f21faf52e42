"""Statement semantics of the session process, modelled on Livy's Python REPL.

``text/plain`` carries what the code printed (a trailing expression's repr is printed last, as an
interactive interpreter does), then stderr, right-stripped. Errors become ``status: error`` with
``ename``/``evalue``/``traceback`` and none of this module's frames. Lines ``%table x``,
``%json x`` and ``%matplot plt`` answer Livy's mime types; the ``sql`` kind answers
``application/json`` ``{schema, data}``. As in a Fabric notebook, ``display(df)`` answers a Spark
or pandas DataFrame as the table, and ``plt.show()`` answers the figure as ``image/png``
(``plotting.py``); one table and one figure per statement, the last shown. Runs inside the session
process only.
"""

from __future__ import annotations

import ast
import base64
import datetime as _dt
import decimal
import io
import json
import math
import re
import sys
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ExecutionResult", "Interpreter", "to_json_value"]

TABLE_MIME = "application/vnd.livy.table.v1+json"
JSON_MIME = "application/json"
PNG_MIME = "image/png"
TEXT_MIME = "text/plain"
SOURCE_NAME = "<stdin>"
_MAGIC_LINE = re.compile(r"^%(table|json|matplot)\s+(.+?)\s*$")
#: PySpark 4 warns on every ``toPandas()`` with pandas 3 (pyspark/sql/pandas/utils.py); the
#: conversions this project uses are tested with pandas 3, so the warning is only noise here.
_PANDAS3_WARNING = r"PySpark does not yet fully support pandas >= 3"


@dataclass(frozen=True)
class ExecutionResult:
    """One statement's outcome: a Livy ``output`` object minus ``execution_count``."""

    output: dict[str, Any]
    failed: bool


def to_json_value(value: Any) -> Any:
    """Turn a Spark/pandas/Python value into plain JSON (dates as ``yyyy-MM-dd``, bytes base64)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if hasattr(value, "asDict"):  # pyspark.sql.Row
        return {str(k): to_json_value(v) for k, v in value.asDict(recursive=False).items()}
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json_value(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        try:
            return to_json_value(value.item())
        except (TypeError, ValueError):
            pass
    return str(value)


def _table_type(value: Any) -> str:
    """Livy's column type names for the table mime type."""
    if value is None:
        return "NULL_TYPE"
    if isinstance(value, bool):
        return "BOOLEAN_TYPE"
    if isinstance(value, int):
        return "INT_TYPE"
    if isinstance(value, float):
        return "DOUBLE_TYPE"
    if isinstance(value, decimal.Decimal):
        return "DECIMAL_TYPE"
    if isinstance(value, _dt.datetime):
        return "TIMESTAMP_TYPE"
    if isinstance(value, _dt.date):
        return "DATE_TYPE"
    if isinstance(value, (bytes, bytearray)):
        return "BINARY_TYPE"
    if isinstance(value, dict) or hasattr(value, "asDict"):
        return "MAP_TYPE"
    if isinstance(value, (list, tuple)):
        return "ARRAY_TYPE"
    return "STRING_TYPE"


def _is_spark_frame(value: Any) -> bool:
    return type(value).__module__.startswith("pyspark.sql") and hasattr(value, "schema")


def _is_pandas_frame(value: Any) -> bool:
    return type(value).__module__.startswith("pandas") and hasattr(value, "to_dict")


#: ``plotting.py`` as matplotlib names a backend module; matplotlib imports it with pyplot.
_PLOTTING = "fabric_livy_magics.server.plotting"


def _use_plotting_backend() -> None:
    """``plt.show()`` answers its figure (``plotting.py``), unless the person chose a backend.
    The server starts sessions with Agg (no screen); this backend is Agg that also answers."""
    import os

    if "matplotlib" in sys.modules:  # already imported: left as configured
        return
    if os.environ.get("MPLBACKEND", "agg").lower() == "agg":
        os.environ["MPLBACKEND"] = f"module://{_PLOTTING}"


def _figures_shown() -> list[Any]:
    plotting = sys.modules.get(_PLOTTING)  # loaded once the person imported pyplot
    return plotting.take_shown() if plotting is not None else []


def _is_plumbing(filename: str) -> bool:
    parts = filename.replace("\\", "/").split("/")
    return "pyspark" in parts or "py4j" in parts


class Interpreter:
    """Runs pyspark and sql statements against per-REPL namespaces sharing one SparkSession."""

    def __init__(self, spark: Any, max_rows: int) -> None:
        self._spark = spark
        self._max_rows = max_rows
        self._namespaces: dict[str, dict[str, Any]] = {}
        #: What ``display()`` and ``plt.show()`` gave during the running statement.
        self._shown: dict[str, Any] = {}
        warnings.filterwarnings("ignore", message=_PANDAS3_WARNING, category=FutureWarning)
        _use_plotting_backend()

    def namespace(self, repl: str) -> dict[str, Any]:
        """The REPL's globals, created with ``spark``, ``sc`` and ``sqlContext`` on first use."""
        ns = self._namespaces.get(repl)
        if ns is None:
            from pyspark.sql import SQLContext

            sc = self._spark.sparkContext
            ns = {"__name__": "__main__", "__builtins__": __builtins__, "spark": self._spark, "sc": sc,
                  "display": self.display}
            try:
                ns["sqlContext"] = SQLContext(sc, self._spark)
            except Exception:  # removed in some Spark versions: the session still works
                ns["sqlContext"] = self._spark
            self._namespaces[repl] = ns
        return ns

    def drop(self, repl: str) -> None:
        self._namespaces.pop(repl, None)

    def run(self, code: str, kind: str, repl: str, guard: Callable[[bool], None]) -> ExecutionResult:
        """Execute one statement; ``guard(True/False)`` brackets the user code (cancel window)."""
        out, err = io.StringIO(), io.StringIO()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        data: dict[str, Any] = {}
        self._shown = {}
        _figures_shown()  # none left over from a statement that failed
        try:
            guard(True)
            try:
                if kind == "sql":
                    data = self._run_sql(code)
                else:
                    data = self._run_python(code, self.namespace(repl))
            finally:
                guard(False)
        except BaseException as exc:  # noqa: BLE001 - every user error becomes a statement error
            sys.stdout, sys.stderr = saved
            if isinstance(exc, SystemExit):
                exc = RuntimeError(f"SystemExit({exc.code!r}) is not allowed in a session")
            return ExecutionResult(self._error_output(exc), failed=True)
        finally:
            sys.stdout, sys.stderr = saved
        text = (out.getvalue() + err.getvalue()).rstrip()
        if TEXT_MIME in data:
            text = (text + "\n" + data[TEXT_MIME]).strip() if text else data[TEXT_MIME]
        if text or not data:
            data[TEXT_MIME] = text
        return ExecutionResult({"status": "ok", "data": data}, failed=False)

    # -- python -----------------------------------------------------------------------------
    def _run_python(self, code: str, ns: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        chunk: list[str] = []
        for line in code.splitlines():
            match = _MAGIC_LINE.match(line)
            if match is None:
                chunk.append(line)
                continue
            self._exec_chunk("\n".join(chunk), ns)
            chunk = [""] * (len(chunk) + 1)  # keep line numbers in tracebacks
            data = self._magic(match.group(1), match.group(2), ns)
        if any(part.strip() for part in chunk):
            self._exec_chunk("\n".join(chunk), ns)
            data = {}
        for figure in _figures_shown():
            self._show_figure(figure)
        return {**self._shown, **data}

    # -- display() and plt.show() ------------------------------------------------------------
    def display(self, *values: Any, **_options: Any) -> None:
        """Fabric's ``display``: a DataFrame becomes the statement's table, a figure its image,
        anything else is printed (its ``repr``, as a notebook shows it)."""
        for value in values:
            if _is_spark_frame(value) or _is_pandas_frame(value):
                self._show_once(TABLE_MIME, self._display_table(value), "table")
            elif hasattr(value, "savefig") or hasattr(value, "get_figure"):
                self._show_figure(value)
            else:
                print(repr(value))

    def _display_table(self, value: Any) -> dict[str, Any]:
        """The first max_rows rows as a Livy table, with a printed line when rows were cut."""
        limit = self._max_rows
        names, rows = self._rows(value, limit + 1)  # one more row tells whether rows were cut
        if len(rows) > limit:
            print(f"display(): showing the first {limit:,} rows. Bring more back with "
                  "`%%livy -o NAME -n N` or write them to a table.")
        return self._table_of(names, rows[:limit])

    def _show_figure(self, figure: Any) -> None:
        self._show_once(PNG_MIME, self._png(figure), "figure")

    def _show_once(self, mime: str, value: Any, what: str) -> None:
        if mime in self._shown:
            print(f"(a cell shows one {what}: only the last one shown is kept; split the cell to see each)")
        self._shown[mime] = value

    def _exec_chunk(self, source: str, ns: dict[str, Any]) -> None:
        if not source.strip():
            return
        tree = ast.parse(source, filename=SOURCE_NAME, mode="exec")
        last: ast.Expr | None = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = tree.body.pop()  # type: ignore[assignment]
        exec(compile(tree, SOURCE_NAME, "exec"), ns)  # noqa: S102 - this server runs user code
        if last is not None:
            value = eval(compile(ast.Expression(last.value), SOURCE_NAME, "eval"), ns)  # noqa: S307
            if value is not None:
                ns["_"] = value
                print(repr(value))

    def _magic(self, name: str, expression: str, ns: dict[str, Any]) -> dict[str, Any]:
        value = eval(compile(expression, SOURCE_NAME, "eval"), ns)  # noqa: S307
        if name == "table":
            return {TABLE_MIME: self._table(value)}
        if name == "json":
            return {JSON_MIME: self._json(value)}
        return {PNG_MIME: self._png(value)}

    def _rows(self, value: Any, limit: int | None = None) -> tuple[list[str] | None, list[Any]]:
        """Column names (when known) and up to ``limit`` (default max_rows) rows of a table-like value."""
        limit = self._max_rows if limit is None else limit
        if _is_spark_frame(value):
            return list(value.columns), [list(r) for r in value.take(limit)]
        if _is_pandas_frame(value):
            head = value.head(limit)
            return [str(c) for c in head.columns], head.astype(object).where(head.notna(), None).values.tolist()
        if isinstance(value, (list, tuple)):
            return None, list(value)[:limit]
        raise TypeError(f"%table needs a list of rows or a DataFrame, got {type(value).__name__}")

    def _table(self, value: Any) -> dict[str, Any]:
        return self._table_of(*self._rows(value))

    @staticmethod
    def _table_of(names: list[str] | None, rows: list[Any]) -> dict[str, Any]:
        if names is None:
            names = []
            for row in rows:
                if isinstance(row, dict) or hasattr(row, "asDict"):
                    row_dict = row if isinstance(row, dict) else row.asDict()
                    names.extend(str(k) for k in row_dict if str(k) not in names)
                elif isinstance(row, (list, tuple)):
                    names.extend(str(i) for i in range(len(names), len(row)))
                else:
                    raise TypeError(f"%table rows must be dicts or lists, got {type(row).__name__}")
        table: list[list[Any]] = []
        for row in rows:
            if hasattr(row, "asDict"):
                row = row.asDict()
            if isinstance(row, dict):
                table.append([row.get(n, row.get(int(n)) if n.isdigit() else None) for n in names])
            else:
                table.append(list(row) + [None] * (len(names) - len(row)))
        types = []
        for col in range(len(names)):
            sample = next((r[col] for r in table if r[col] is not None), None)
            types.append(_table_type(sample))
        headers = [{"name": n, "type": t} for n, t in zip(names, types, strict=True)]
        return {"headers": headers, "data": [[to_json_value(v) for v in r] for r in table]}

    def _json(self, value: Any) -> Any:
        if _is_spark_frame(value) or _is_pandas_frame(value):
            names, rows = self._rows(value)
            return [dict(zip(names or [], map(to_json_value, r), strict=False)) for r in rows]
        converted = to_json_value(value)
        json.dumps(converted)
        return converted

    @staticmethod
    def _png(value: Any) -> str:
        figure = value
        if hasattr(value, "gcf"):  # matplotlib.pyplot
            figure = value.gcf()
        elif hasattr(value, "get_figure") and not hasattr(value, "savefig"):
            figure = value.get_figure()
        if not hasattr(figure, "savefig"):
            raise TypeError(f"%matplot needs pyplot, a Figure or Axes, got {type(value).__name__}")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        try:
            import matplotlib.pyplot as plt

            plt.close(figure)
        except Exception:  # noqa: BLE001 - closing is tidiness, not correctness
            pass
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    # -- sql --------------------------------------------------------------------------------
    def _run_sql(self, code: str) -> dict[str, Any]:
        frame = self._spark.sql(code)
        rows = frame.take(self._max_rows)
        schema = json.loads(frame.schema.json())
        return {JSON_MIME: {"schema": schema, "data": [[to_json_value(v) for v in r] for r in rows]}}

    # -- errors -----------------------------------------------------------------------------
    @staticmethod
    def _error_output(exc: BaseException) -> dict[str, Any]:
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != SOURCE_NAME:
            tb = tb.tb_next
        if isinstance(exc, SyntaxError) or tb is None:
            lines = traceback.format_exception_only(type(exc), exc)
        else:
            # The person's frames (and their own modules'); PySpark's and Py4J's plumbing between
            # their call and the JVM's answer is nothing they can act on.
            frames = [frame for frame in traceback.extract_tb(tb) if not _is_plumbing(frame.filename)]
            lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames),
                     *traceback.format_exception_only(type(exc), exc)]
        return {
            "status": "error",
            "ename": type(exc).__name__,
            "evalue": str(exc),
            "traceback": lines,
        }
