"""Tab completion of table and column names in SQL cells, from a per-session catalog cache.

In a ``%%livy_sql`` cell (also ``%%sql`` in the project's kernel and ``%%livy -l sql``), Tab
after a word offers the tables and views of the session's current database and the columns of
the tables the cell names; after ``alias.`` or ``table.`` it offers that table's columns. In a
cell of remote Python (``%%livy``, or any cell of this project's kernel) the same names are
offered inside the string of ``spark.table("...")``, ``spark.sql("...")`` and the like. The
names come from the remote catalog once per session and stay cached: a cell that may change
them (DDL in SQL, ``saveAsTable`` or a temporary view in Python, ``%livy write``) empties the
cache, and it is refetched after a few minutes in any case. Completion never starts a session
and never fails a keystroke: with no session yet, or on any error, it offers nothing.

It is an IPython matcher (API v2), so it works wherever IPython completes: a plain Python
kernel with the extension loaded, and this project's kernel, which hands magic cells to IPython.
"""

from __future__ import annotations

import re
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

__all__ = ["forget_catalog", "install_completion", "note_remote_code", "remove_completion"]

#: Seconds a cached list of table names is trusted without a cell that could change it.
CATALOG_TTL = 300.0

_SQL_HEADER = re.compile(r"^\s*%%(?:livy_sql|sql|livy\s+.*(?:-l|--language)[\s=]+sql)\b")
_PYTHON_HEADER = re.compile(r"^\s*%%(?:livy|pyspark)\b(?!.*(?:-l|--language)[\s=]+(?!pyspark))")
#: A table name or SQL text being typed into a string: ``spark.table("sal``, ``spark.sql("SELECT ...``.
_STRING_CALL = re.compile(
    r"""\.(sql|table|saveAsTable|insertInto|tableExists|listColumns|refreshTable|cacheTable|getTable)"""
    r"""\(\s*(?:[rRbBuU]?)(?:'{3}|"{3}|'|")([^'"]*)$""")
_TOUCHES_CATALOG = re.compile(
    r"saveAsTable|insertInto|TempView|dropTempView|dropGlobalTempView|\.sql\(|writeTo\(|createTable|"
    r"setCurrentDatabase|setCurrentCatalog|refreshTable")
_TABLE_REFS = re.compile(
    r"\b(?:from|join|table|into|update|describe)\s+([\w.`]+)(?:\s+(?:as\s+)?([A-Za-z_]\w*))?", re.IGNORECASE)
_NOT_ALIASES = {"where", "on", "join", "left", "right", "inner", "outer", "full", "cross", "group",
                "order", "limit", "union", "using", "natural", "lateral", "select", "set", "values",
                "having", "window", "except", "intersect", "anti", "semi", "tablesample", "pivot"}


@dataclass
class _Catalog:
    """One session's names: tables (None: not fetched) and columns per table."""

    key: Any = None
    tables: list[str] | None = None
    fetched: float = 0.0
    columns: dict[str, list[str] | None] = field(default_factory=dict)

    def clear(self) -> None:
        self.tables, self.fetched, self.columns = None, 0.0, {}


#: Per notebook (a ``commands.state.NotebookState``; typed Any here: commands import this module).
_catalogs: weakref.WeakKeyDictionary[Any, _Catalog] = weakref.WeakKeyDictionary()


def forget_catalog(state: Any) -> None:
    """Empty the cached names: the next completion asks the session again."""
    catalog = _catalogs.get(state)
    if catalog is not None:
        catalog.clear()


def note_remote_code(state: Any, code: str, kind: str | None) -> None:
    """Forget the cached names after a cell that may have created, dropped or altered tables."""
    if state not in _catalogs:
        return
    if kind == "sql":
        from fabric_livy_magics.livy.sql_text import is_catalog_change, split_statements

        changed = any(is_catalog_change(s.text) for s in split_statements(code))
    else:
        changed = bool(_TOUCHES_CATALOG.search(code))
    if changed:
        forget_catalog(state)


def _catalog(state: Any) -> tuple[_Catalog, Any] | None:
    """The session's catalog cache (refreshed when stale), or None when no session runs."""
    session = state.session
    if session is None or not session.started:
        return None
    catalog = _catalogs.setdefault(state, _Catalog())
    key = (id(session), session.session_id)
    if catalog.key != key:
        catalog.clear()
        catalog.key = key
    if catalog.tables is None or time.monotonic() - catalog.fetched > CATALOG_TTL:
        from fabric_livy_magics.livy.lakehouse import catalog_tables

        catalog.columns = {}
        catalog.tables = catalog_tables(session.run_text)
        catalog.fetched = time.monotonic()
    return catalog, session


def _columns(catalog: _Catalog, session: Any, tables: list[str]) -> dict[str, list[str] | None]:
    missing = [t for t in tables if t not in catalog.columns]
    if missing:
        from fabric_livy_magics.livy.lakehouse import catalog_columns

        catalog.columns.update(catalog_columns(session.run_text, missing))
    return {t: catalog.columns.get(t) for t in tables}


def _references(text: str) -> dict[str, str]:
    """Names the cell uses as tables, and their aliases: ``{alias or name (lower): table}``."""
    found: dict[str, str] = {}
    for match in _TABLE_REFS.finditer(text):
        table, alias = match.group(1).strip("`"), match.group(2)
        if not table or table.lower() in _NOT_ALIASES:
            continue
        found.setdefault(table.lower(), table)
        if alias and alias.lower() not in _NOT_ALIASES:
            found.setdefault(alias.lower(), table)
    return found


def sql_completions(state: Any, text: str, line: int, before_cursor: str, *,
                    remote_python: bool = False) -> tuple[list[tuple[str, str]], str]:
    """``([(name, "table"|"column")], fragment)`` for the word before the cursor in a SQL cell,
    or inside the string of ``spark.table("...")``, ``spark.sql("...")`` and the like in a cell
    that runs remote Python (``%%livy``; any cell in this project's kernel: ``remote_python``)."""
    lines = text.split("\n")
    if _SQL_HEADER.match(lines[0]):
        if line == 0:
            return [], ""
        sql_text = "\n".join(lines[1:])
    elif _PYTHON_HEADER.match(lines[0]) or (remote_python and not lines[0].lstrip().startswith("%%")):
        call = _STRING_CALL.search("\n".join([*lines[:line], before_cursor]))  # a string may span lines
        if call is None:
            return [], ""
        after = "\n".join([lines[line][len(before_cursor):], *lines[line + 1:]])
        rest = re.match(r"[^'\"]*", after).group(0)  # type: ignore[union-attr]  # to the string's end
        before_cursor, sql_text = call.group(2), call.group(2) + rest if call.group(1) == "sql" else ""
        if call.group(1) != "sql" and not re.fullmatch(r"[\w.]*", before_cursor):
            return [], ""
    else:
        return [], ""
    word = re.search(r"[\w.]*$", before_cursor).group(0)  # type: ignore[union-attr]
    found = _catalog(state)
    if found is None:
        return [], word
    catalog, session = found
    refs = _references(sql_text)
    if "." in word:
        qualifier, _, fragment = word.rpartition(".")
        table = refs.get(qualifier.lower(), qualifier)
        columns = _columns(catalog, session, [table]).get(table) or []
        return [(c, "column") for c in columns if c.lower().startswith(fragment.lower())], fragment
    names = [(t, "table") for t in catalog.tables or [] if t.lower().startswith(word.lower())]
    known = {t.lower() for t in catalog.tables or []}
    referenced = sorted({t for t in refs.values() if t.lower() in known or "." in t})
    seen = {n for n, _ in names}
    for columns in _columns(catalog, session, referenced).values():
        for column in columns or []:
            if column.lower().startswith(word.lower()) and column not in seen:
                seen.add(column)
                names.append((column, "column"))
    return names, word


def install_completion(shell: Any, state: Any) -> None:
    """Add the SQL-cell matcher to ``shell``'s completer (once)."""
    from IPython.core.completer import SimpleCompletion, context_matcher

    completer = getattr(shell, "Completer", None)
    if completer is None or any(getattr(m, "flm_catalog", False) for m in completer.custom_matchers):
        return

    @context_matcher(identifier="fabric_livy_magics.catalog")
    def catalog_matcher(context: Any) -> dict[str, Any]:
        try:
            names, fragment = sql_completions(
                state, context.full_text, context.cursor_line, context.text_until_cursor,
                remote_python=getattr(getattr(shell, "kernel", None), "implementation", "") == "fabric_livy_magics")
        except Exception:  # noqa: BLE001 - a keystroke must never fail: offer nothing
            names, fragment = [], context.token
        completions = [SimpleCompletion(text=name, type=kind) for name, kind in names]
        return {"completions": completions, "suppress": bool(completions), "matched_fragment": fragment}

    catalog_matcher.flm_catalog = True  # type: ignore[attr-defined]
    completer.custom_matchers.append(catalog_matcher)
    _catalogs.setdefault(state, _Catalog())


def remove_completion(shell: Any) -> None:
    """Take the matcher off ``shell``'s completer (``%unload_ext``)."""
    completer = getattr(shell, "Completer", None)
    if completer is not None:
        completer.custom_matchers[:] = [m for m in completer.custom_matchers
                                        if not getattr(m, "flm_catalog", False)]
