"""Lakehouse tables from any front end: list, describe, read to pandas, write from pandas, SQL with
bound parameters, and local Python modules made importable remotely.

Like ``transfer``, everything runs through one callable, ``run(code) -> text output`` (a
session's ``run_text``), so this module knows nothing of HTTP or IPython::

    listing = list_tables(session.run_text, like="sales*")
    result = read_table(session.run_text, "sales", columns=["id", "amount"], maxrows=1000)
    write_table(session.run_text, frame, "sales_copy", mode="overwrite")

The remote half is ``_lakehouse_remote.py``, shipped as text with each call. Names, SQL text and
parameter values travel as JSON values, so nothing a person types becomes code, and SQL
parameters are bound by Spark (``spark.sql(query, args=...)``), never pasted into the query.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy.sql_text import SqlStatement, encode_parameter, split_statements
from fabric_livy_magics.transfer import FetchResult, RemoteName, Runner, fetch_dataframe, send_dataframe
from fabric_livy_magics.transfer.wire import parse_answer

if TYPE_CHECKING:
    import pandas

__all__ = [
    "MAX_MODULE_CHARS", "MODES", "ModuleResult", "PreparedSql", "TableDescription", "TableListing",
    "WriteResult", "catalog_columns", "catalog_tables", "describe_table", "fetch_sql", "list_tables",
    "module_sources", "prepare_sql", "read_table", "run_sql", "send_module", "write_table",
]  # fmt: skip

MODES = ("error", "append", "overwrite")


@lru_cache(maxsize=1)
def _remote_source() -> str:
    return Path(__file__).with_name("_lakehouse_remote.py").read_text(encoding="utf-8")


def _remote_code(spec: dict[str, Any]) -> str:
    source = repr(_remote_source())
    payload = repr(json.dumps(spec, separators=(",", ":")))
    # The last statement is ``del``, not an expression: REPLs echo a final expression's repr.
    return (
        "def _flm_lakehouse(ns):\n"
        "    import json as _json\n"
        "    g = {'__name__': 'fabric_livy_lakehouse'}\n"
        f"    exec(compile({source}, '<fabric-livy-lakehouse>', 'exec'), g)\n"
        f"    g['main'](ns, _json.loads({payload}))\n"
        "try:\n"
        "    _flm_lakehouse(locals())\n"
        "finally:\n"
        "    del _flm_lakehouse\n"
    )


def call(run: Runner, op: str, **fields: Any) -> dict[str, Any]:
    """Run one remote operation; its answer's header, or StatementFailed with a one-line reason."""
    tid = uuid.uuid4().hex
    return parse_answer(run(_remote_code({"op": op, "id": tid, **fields})), tid).header


def _temp_name(purpose: str) -> str:
    return f"_flm_{purpose}_{uuid.uuid4().hex[:12]}"


def _forget_after(run: Runner, names: list[str], error: BaseException) -> None:
    """Drop remote helper variables after ``error``; a failed cleanup is noted on ``error``."""
    try:
        call(run, "forget", names=names)
    except Exception as cleanup:  # the original error is what the person needs to see
        error.add_note(f"Also failed to drop the remote variables {', '.join(names)}: {cleanup}")


def _check_table_name(table: str) -> str:
    if not isinstance(table, str) or not table.strip() or any(c in table for c in "\n\r\0"):
        raise ConfigurationError(f"{table!r} is not a table name: write e.g. sales or mydb.sales.")
    return table.strip()


def _frame(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> pandas.DataFrame:
    import pandas as pd

    return pd.DataFrame([list(r) for r in rows], columns=list(columns))


# --------------------------------------------------------------------------- browse


@dataclass(frozen=True)
class TableListing:
    """``list_tables``: one row per table or view (table, database, type, format, location,
    temporary); ``note`` says why format and location are missing, when they are."""

    database: str
    frame: pandas.DataFrame
    note: str | None = None


def list_tables(run: Runner, database: str | None = None, *, like: str | None = None) -> TableListing:
    """Tables and temporary views of ``database`` (default: the session's current one) whose
    names match ``like`` (Spark's ``SHOW TABLES`` pattern: ``*`` any text, ``|`` alternatives)."""
    if database is not None:
        _check_table_name(database)
    header = call(run, "tables", database=database, like=like)
    return TableListing(database=str(header["database"]), frame=_frame(header["columns"], header["rows"]),
                        note=header.get("note"))


@dataclass(frozen=True)
class TableDescription:
    """``describe_table``: the columns (column, type, nullable, partition, comment) and what is
    known about the table; ``row_count`` only when asked for (it runs a Spark job)."""

    name: str
    columns: pandas.DataFrame
    type: str | None = None
    format: str | None = None
    location: str | None = None
    partitioned_by: tuple[str, ...] = ()
    row_count: int | None = None

    def summary(self) -> str:
        """One line: the table, its kind, format, partitioning and row count where known."""
        kind = ", ".join(p for p in (self.type, self.format) if p)
        text = f"{self.name}" + (f" ({kind})" if kind else "")
        if self.location:
            text += f" at {self.location}"
        if self.partitioned_by:
            text += f"; partitioned by {', '.join(self.partitioned_by)}"
        if self.row_count is not None:
            text += f"; {self.row_count:,} rows"
        return text + "."


def describe_table(run: Runner, table: str, *, count: bool = False) -> TableDescription:
    """Columns, types, nullability and partitioning of a table or view; its row count if ``count``."""
    header = call(run, "describe", table=_check_table_name(table), count=count)
    return TableDescription(
        name=str(header.get("name") or table), columns=_frame(header["columns"], header["rows"]),
        type=header.get("type"), format=header.get("format"), location=header.get("location"),
        partitioned_by=tuple(header.get("partitioned_by") or ()), row_count=header.get("row_count"))


# --------------------------------------------------------------------------- read and write


def read_table(run: Runner, table: str, *, columns: Sequence[str] | None = None,
               where: str | None = None, maxrows: int | None) -> FetchResult:
    """A table (``columns`` of it, rows matching the SQL condition ``where``) as typed pandas,
    through the same Arrow transfer as ``-o``; at most ``maxrows`` rows (None: all)."""
    table = _check_table_name(table)
    columns = [c.strip() for c in columns or () if c.strip()]
    if where is not None and not where.strip():
        raise ConfigurationError("--where is empty: give a condition such as \"amount > 10\".")
    keep = _temp_name("read")
    call(run, "read", table=table, columns=columns, where=where, keep=keep)
    try:
        result = fetch_dataframe(run, RemoteName(keep), maxrows=maxrows)
    except BaseException as exc:  # Ctrl-C included
        _forget_after(run, [keep], exc)
        raise
    call(run, "forget", names=[keep])
    return result


@dataclass(frozen=True)
class WriteResult:
    """What ``write_table`` did: the table, rows written, mode, and whether it existed before."""

    table: str
    rows: int
    mode: str
    existed: bool
    schema: str


def write_table(run: Runner, frame: pandas.DataFrame, table: str, *, mode: str = "error",
                format: str | None = None, partition_by: Sequence[str] = ()) -> WriteResult:
    """Save a pandas DataFrame as a lakehouse table (``saveAsTable``), typed exactly as ``-o``
    reads it back. ``mode``: error (refuse an existing table), append, overwrite. ``format``:
    delta, parquet, ...; None uses the session's default (Delta on Fabric). Appending checks the
    table's columns and types first and names every difference."""
    from fabric_livy_magics.transfer.encode import pandas_to_arrow

    table = _check_table_name(table)
    if mode not in MODES:
        raise ConfigurationError(f"--mode must be one of {', '.join(MODES)}; got {mode!r}.")
    if format is not None and not format.replace("_", "").replace(".", "").isalnum():
        raise ConfigurationError(f"{format!r} is not a data source format: write delta or parquet.")
    arrow = pandas_to_arrow(frame)  # values Spark cannot hold exactly are refused here, by column
    names = [str(c) for c in frame.columns]
    unknown = [c for c in partition_by if c not in names]
    if unknown:
        raise ConfigurationError(f"--partition-by {', '.join(unknown)}: no such column; the "
                                 f"DataFrame has {', '.join(names)}.")
    if len(set(n.lower() for n in names)) != len(names):
        raise ConfigurationError("The DataFrame has duplicate column names; a table cannot.")
    source = _temp_name("write")
    sent = send_dataframe(run, frame, source, table=arrow)
    try:
        header = call(run, "write", source=source, table=table, mode=mode, format=format,
                      partition_by=list(partition_by))
    except BaseException as exc:
        _forget_after(run, [source], exc)
        raise
    return WriteResult(table=table, rows=sent.rows, mode=mode, existed=bool(header["existed"]),
                       schema=str(header["schema"]))


# --------------------------------------------------------------------------- SQL


@dataclass(frozen=True)
class PreparedSql:
    """A SQL cell split into statements, each with its parameters encoded for Spark."""

    statements: tuple[SqlStatement, ...]
    arguments: tuple[dict[str, Any], ...] = field(default=())

    @property
    def parameterized(self) -> bool:
        return any(self.arguments)


def prepare_sql(text: str, namespace: Mapping[str, Any]) -> PreparedSql:
    """Split ``text`` into statements and bind each ``:name`` to ``namespace[name]``; an undefined
    name or a value Spark cannot hold exactly raises ConfigurationError before anything runs."""
    statements = tuple(split_statements(text))
    if not statements:
        raise ConfigurationError("The SQL cell is empty: write a query.")
    arguments = []
    for statement in statements:
        args = {}
        for name in statement.parameters:
            if name not in namespace:
                raise ConfigurationError(
                    f"SQL parameter :{name} (statement {statement.number}) is not defined in this "
                    f"notebook: set {name} = ... in a local cell first.")
            args[name] = encode_parameter(name, namespace[name])
        arguments.append(args)
    return PreparedSql(statements=statements, arguments=tuple(arguments))


def run_sql(run: Runner, prepared: PreparedSql, *, upto: int | None = None,
            keep: str | None = None) -> list[str]:
    """Run the first ``upto`` statements (default: all) in order, each with its parameters; the
    last one's DataFrame is kept in remote variable ``keep`` if given. Returns its column names.
    A failing statement raises StatementFailed naming its number and line."""
    count = len(prepared.statements) if upto is None else upto
    statements = [{"text": s.text, "number": s.number, "line": s.line, "args": a}
                  for s, a in zip(prepared.statements[:count], prepared.arguments[:count])]
    header = call(run, "sql", statements=statements, total=len(prepared.statements), keep=keep)
    return [str(c) for c in header["columns"]]


def fetch_sql(run: Runner, prepared: PreparedSql, *, maxrows: int | None) -> FetchResult | None:
    """Run every statement; the last one's result as typed pandas (None when it has no columns,
    as DDL has)."""
    keep = _temp_name("sql")
    columns = run_sql(run, prepared, keep=keep)
    try:
        result = fetch_dataframe(run, RemoteName(keep), maxrows=maxrows) if columns else None
    except BaseException as exc:
        _forget_after(run, [keep], exc)
        raise
    call(run, "forget", names=[keep])
    return result


# --------------------------------------------------------------------------- completion


def catalog_tables(run: Runner) -> list[str]:
    """Names of the tables and temporary views in the session's current database."""
    return [str(n) for n in call(run, "catalog_tables")["tables"]]


def catalog_columns(run: Runner, tables: Sequence[str]) -> dict[str, list[str] | None]:
    """Column names per table (None for a name that is no table)."""
    found = call(run, "catalog_columns", tables=list(tables))["columns"]
    return {str(k): (None if v is None else [str(c) for c in v]) for k, v in found.items()}


# --------------------------------------------------------------------------- modules

#: The most source text ``send_module`` ships (characters); a larger package belongs in a wheel
#: installed into the Spark environment.
MAX_MODULE_CHARS = 2_000_000


@dataclass(frozen=True)
class ModuleResult:
    """What ``send_module`` made importable remotely: the module name, its (sub)modules, the
    characters sent, and whether it replaced an earlier version."""

    name: str
    modules: tuple[str, ...]
    chars: int
    replaced: bool


def module_sources(what: str) -> tuple[str, bool, dict[str, str]]:
    """A local module or package (a path, or an importable name) as ``(name, is_package,
    {relative path: source})``; only ``.py`` files travel. Refused before any remote call: no
    such module, not Python source, too large."""
    import importlib.util

    path = Path(what).expanduser()
    if not path.exists() and what.replace(".", "").replace("_", "").isalnum() and not what.endswith(".py"):
        try:
            spec = importlib.util.find_spec(what)
        except (ImportError, ValueError) as exc:
            raise ConfigurationError(f"Cannot find module {what!r} here: {exc}.") from None
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            raise ConfigurationError(f"{what!r} is not a module written in Python source here "
                                     "(only .py modules and packages can be sent).")
        path = Path(spec.origin)
        if spec.submodule_search_locations is not None:
            path = path.parent
    if path.is_dir():
        if not (path / "__init__.py").is_file():
            raise ConfigurationError(f"{path} is not a package (no __init__.py).")
        files = sorted(p for p in path.rglob("*.py")
                       if not any(part.startswith((".", "__pycache__")) for part in p.relative_to(path).parts))
        package = True
    elif path.is_file() and path.suffix == ".py":
        files, package = [path], False
    else:
        raise ConfigurationError(f"No module or .py file {what!r} here.")
    sources: dict[str, str] = {}
    total = 0
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"Cannot read {file}: {exc}.") from None
        total += len(text)
        if total > MAX_MODULE_CHARS:
            raise ConfigurationError(
                f"{path.name} is over {MAX_MODULE_CHARS:,} characters of source: too large to send "
                "through the session. Build a wheel and install it in the Spark environment.")
        sources[file.relative_to(path).as_posix() if package else file.name] = text
    return (path.name if package else path.stem), package, sources


def send_module(run: Runner, what: str, *, alias: str | None = None) -> ModuleResult:
    """Make a local module or package importable remotely as ``alias`` (default: its own name)
    and bind it in the remote namespace; sending it again replaces the code in place, as
    ``importlib.reload`` does, so objects already holding the module see the new functions."""
    from fabric_livy_magics.transfer.models import validate_send_name

    name, package, sources = module_sources(what)
    name = validate_send_name(alias or name)
    header = call(run, "module", name=name, alias=name, package=package, files=sources)
    return ModuleResult(name=name, modules=tuple(header["modules"]),
                        chars=sum(len(s) for s in sources.values()), replaced=bool(header["reloaded"]))
