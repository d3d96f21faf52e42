"""``%livy tables|describe|read|write|send-module``: the lakehouse from the notebook.

Thin over ``livy/lakehouse.py``: parse, check what can be checked locally, one library call,
show the result (``-o NAME`` also keeps it as a pandas DataFrame).
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from fabric_livy_magics.livy import lakehouse
from fabric_livy_magics.notebook.commands.parsing import parse, set_prog
from fabric_livy_magics.notebook.commands.state import NotebookState

__all__ = ["PARSERS", "describe", "read", "send_module", "tables", "write"]


def _unquoted(text: str | None) -> str | None:
    """IPython's option splitter keeps the quotes around a value (``--where "a = 'b'"``)."""
    if text is not None and len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _check_output(name: str | None) -> None:
    if name is not None:
        from fabric_livy_magics.transfer.models import validate_name

        validate_name(name, what="-o name")


def _show(frame: Any, state: NotebookState, output: str | None, note: str | None = None) -> Any:
    from fabric_livy_magics.notebook.commands.cell import show_items
    from fabric_livy_magics.notebook.display import TableItem

    if output:
        state.shell.user_ns[output] = frame
    show_items([TableItem(frame, note=note)])
    return None


@set_prog("%livy tables")
@magic_arguments()
@argument("database", nargs="?", metavar="DATABASE", help="Database (schema) to list (default: the current one).")
@argument("--like", metavar="PATTERN", help="Only names matching PATTERN (* any text, | or).")
@argument("-o", "--output", metavar="NAME", help="Also store the listing as pandas DataFrame NAME.")
def _tables(line: str) -> None:
    """List the tables and temporary views: table, database, type, format and location.

    Example: ``%livy tables --like "sales*"``."""


def tables(state: NotebookState, line: str) -> Any:
    args = parse(_tables, line)
    _check_output(args.output)
    listing = lakehouse.list_tables(state.get_session().run_text, _unquoted(args.database),
                                     like=_unquoted(args.like))
    if listing.frame.empty:
        print(f"No tables in {listing.database}" + (f" matching {args.like!r}." if args.like else "."))
    return _show(listing.frame, state, args.output, listing.note)


@set_prog("%livy describe")
@magic_arguments()
@argument("table", metavar="TABLE", help="Table or view, e.g. sales or mydb.sales.")
@argument("--count", action="store_true", help="Also count the rows (runs a Spark job).")
@argument("-o", "--output", metavar="NAME", help="Also store the columns as pandas DataFrame NAME.")
def _describe(line: str) -> None:
    """Show a table's columns (type, nullable, partition column, comment), its format and location.

    Example: ``%livy describe sales --count``."""


def describe(state: NotebookState, line: str) -> Any:
    args = parse(_describe, line)
    _check_output(args.output)
    found = lakehouse.describe_table(state.get_session().run_text, _unquoted(args.table), count=args.count)
    print(found.summary())
    return _show(found.columns, state, args.output)


@set_prog("%livy read")
@magic_arguments()
@argument("table", metavar="TABLE", help="Table or view to read.")
@argument("-o", "--output", metavar="NAME", help="Store the rows as pandas DataFrame NAME.")
@argument("-n", "--maxrows", type=int, metavar="N", help="Rows to bring back (-1: all).")
@argument("--where", metavar="EXPR", help='Only rows matching a SQL condition, e.g. "amount > 10".')
@argument("--columns", metavar="A,B", help="Only these columns, comma-separated.")
@argument("-q", "--quiet", action="store_true", help="Show nothing; just store -o NAME.")
def _read(line: str) -> None:
    """Read a table into pandas with exact types (the same Arrow transfer as ``-o``).

    Example: ``%livy read sales -o sales --where "region = 'north'" --columns id,amount -n 10000``."""


def read(state: NotebookState, line: str) -> Any:
    args = parse(_read, line)
    _check_output(args.output)
    maxrows = state.settings().maxrows if args.maxrows is None else args.maxrows
    if maxrows < -1:
        raise UsageError(f"-n takes a row count, or -1 for all rows; got {maxrows}.")
    columns = _unquoted(args.columns).split(",") if args.columns is not None else None
    if columns is not None and not any(c.strip() for c in columns):
        raise UsageError("--columns is empty: name the columns, e.g. --columns id,amount.")
    result = lakehouse.read_table(state.get_session().run_text, _unquoted(args.table), columns=columns,
                                  where=_unquoted(args.where), maxrows=None if maxrows < 0 else maxrows)
    from fabric_livy_magics.notebook.display import truncation_note

    note = truncation_note(len(result.frame), None, maxrows) if result.truncated else None
    if args.quiet:
        if args.output:
            state.shell.user_ns[args.output] = result.frame
        if note:
            print(note)
        return None
    return _show(result.frame, state, args.output, note)


@set_prog("%livy write")
@magic_arguments()
@argument("name", metavar="NAME", help="A pandas DataFrame in this notebook.")
@argument("table", metavar="TABLE", help="The table to write, e.g. sales or mydb.sales.")
@argument("--mode", choices=lakehouse.MODES, default="error",
          help="If the table exists: error (default), append or overwrite.")
@argument("--format", metavar="FORMAT", help="delta, parquet, ... (default: the session's, Delta on Fabric).")
@argument("--partition-by", metavar="COL[,COL]", help="Partition the table by these columns.")
def _write(line: str) -> None:
    """Save a local pandas DataFrame as a lakehouse table, typed as ``-o`` reads it back.

    Example: ``%livy write forecast sales_forecast --mode overwrite --partition-by region``."""


def write(state: NotebookState, line: str) -> None:
    args = parse(_write, line)
    if args.name not in state.shell.user_ns:
        raise UsageError(f"No variable {args.name!r} in this notebook.")
    partition_by = [c.strip() for c in (_unquoted(args.partition_by) or "").split(",") if c.strip()]
    session = state.get_session()
    result = lakehouse.write_table(session.run_text, state.shell.user_ns[args.name], _unquoted(args.table),
                                   mode=args.mode, format=_unquoted(args.format), partition_by=partition_by)
    from fabric_livy_magics.notebook.completion import forget_catalog

    forget_catalog(state)
    verb = {"append": "Appended", "overwrite": "Wrote"}.get(result.mode, "Wrote")
    where = "to" if result.mode == "append" else ("over" if result.existed else "as new table")
    print(f"{verb} {result.rows:,} rows of {args.name} {where} {result.table}.")


@set_prog("%livy send-module")
@magic_arguments()
@argument("module", metavar="PATH_OR_MODULE", help="A .py file, a package folder, or an importable module name.")
@argument("--as", dest="alias", metavar="NAME", help="Name to import it by remotely (default: its own).")
def _send_module(line: str) -> None:
    """Make local Python code importable in the remote session (sent as source; sending again
    replaces it in place, like ``importlib.reload``).

    Example: ``%livy send-module ./helpers`` then ``%%livy`` ``from helpers import clean``."""


def send_module(state: NotebookState, line: str) -> None:
    args = parse(_send_module, line)
    result = lakehouse.send_module(state.get_session().run_text, _unquoted(args.module), alias=args.alias)
    what = f"{len(result.modules)} modules" if len(result.modules) > 1 else "1 module"
    verb = "Replaced" if result.replaced else "Sent"
    print(f"{verb} {result.name} ({what}, {result.chars:,} characters): `import {result.name}` "
          "works remotely.")


PARSERS = {"tables": _tables, "describe": _describe, "read": _read, "write": _write,
           "send-module": _send_module}
