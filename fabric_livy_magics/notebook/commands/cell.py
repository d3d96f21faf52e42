"""``%%livy`` / ``%%livy_sql``: run a cell remotely, show its results, bring tables back with ``-o``.

Also the entry points for a wrapper kernel: :func:`run_remote_cell` and :func:`complete_remote`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

from fabric_livy_magics.notebook.commands.parsing import usage_errors
from fabric_livy_magics.notebook.commands.state import NotebookState
from fabric_livy_magics.livy.targets import KINDS
from fabric_livy_magics.errors import StatementCancelled
from fabric_livy_magics.livy.models import StatementState
from fabric_livy_magics.notebook.display import (
    DisplayItem,
    ImageItem,
    JsonItem,
    TableItem,
    TextItem,
    capped_text,
    render_output,
    truncation_note,
)

__all__ = ["CellRequest", "complete_remote", "run_cell", "run_remote_cell", "show_items", "state_of"]


@dataclass(frozen=True)
class CellRequest:
    """A parsed ``%%livy`` call: plain values, checked before any remote call."""

    code: str
    language: str | None = None
    output: str | None = None
    maxrows: int | None = None
    quiet: bool = False
    timeout: float | None = None
    sample: float | None = None

    def check(self) -> None:
        """Raise UsageError for what can be known wrong locally."""
        if self.language is not None and self.language not in KINDS:
            raise UsageError(f"-l must be one of {', '.join(KINDS)}; got {self.language!r}.")
        if self.output is not None:
            from fabric_livy_magics.transfer.models import validate_name

            with usage_errors():
                validate_name(self.output, what="-o name")
        if self.maxrows is not None and self.maxrows < -1:
            raise UsageError(f"-n takes a row count, or -1 for all rows; got {self.maxrows}.")
        if self.timeout is not None and not (0 < self.timeout < float("inf")):
            raise UsageError(f"--timeout takes a finite number of seconds > 0; got {self.timeout:g}.")
        if self.sample is not None and not (0 < self.sample <= 1):
            raise UsageError(f"--sample takes a fraction of the rows in (0, 1]; got {self.sample:g}.")
        if self.sample is not None and self.output is None and self.language != "sql":
            raise UsageError("--sample samples what -o brings back: add -o NAME.")


def run_cell(state: NotebookState, request: CellRequest) -> Any:
    """Run the cell; show its results unless quiet; store ``-o`` in the user namespace.

    Returns the ``-o`` DataFrame (or None). Remote errors raise StatementFailed, whose
    traceback is the remote one, so "Run all" stops here."""
    request.check()
    settings = state.settings()
    maxrows = settings.maxrows if request.maxrows is None else request.maxrows
    timeout = request.timeout if request.timeout is not None else settings.statement_timeout
    session = state.get_session()
    kind = request.language or session.options.kind
    if request.output and kind not in ("pyspark", "sql"):
        raise UsageError(f"-o works with pyspark and sql cells, not {kind}. Register a temporary "
                         "view and use `%%livy -l sql -o NAME`.")
    if not request.code.strip() and not request.output:
        return None
    if kind == "sql" and request.code.strip():
        with usage_errors():  # an undefined :name or a value Spark cannot hold: before any call
            from fabric_livy_magics.livy.lakehouse import prepare_sql

            prepared = prepare_sql(request.code, state.shell.user_ns)
        if len(prepared.statements) > 1 or prepared.parameterized:
            return _run_sql_statements(state, request, prepared, maxrows)

    if kind == "sql" and (request.output or request.code.strip()):
        # With or without -o, the same way: -n/maxrows rows at most, and a note when cut.
        from fabric_livy_magics.transfer import SqlQuery, fetch_dataframe

        result = fetch_dataframe(_statement_runner(session, request.quiet, timeout), SqlQuery(request.code),
                                 maxrows=_cap(maxrows), sample=request.sample)
        _publish_table(state, request, result, maxrows)
        from fabric_livy_magics.notebook.completion import note_remote_code

        note_remote_code(state, request.code, kind)  # DDL changes the names to complete
        return result.frame if request.output else None

    if request.code.strip():
        statement = session.run(request.code, kind, timeout=timeout, quiet=request.quiet)
        if statement.state is StatementState.CANCELLED:
            raise StatementCancelled(f"Statement {statement.id} was cancelled (by `%livy cancel` "
                                     "or another client).")
        items = render_output(statement.output, maxrows=maxrows)  # raises StatementFailed
        if not request.quiet:
            show_items(items)
        from fabric_livy_magics.notebook.completion import note_remote_code

        note_remote_code(state, request.code, kind)  # DDL and saveAsTable change the names to complete
    if not request.output:
        return None
    from fabric_livy_magics.transfer import RemoteName, fetch_dataframe

    result = fetch_dataframe(session.run_text, RemoteName(request.output), maxrows=_cap(maxrows),
                             sample=request.sample)
    state.shell.user_ns[request.output] = result.frame
    if result.truncated:
        print(f"{request.output}: " + truncation_note(len(result.frame), result.total_rows, maxrows))
    return result.frame


def _statement_runner(session: Any, quiet: bool, timeout: float | None) -> Any:
    """``run(code) -> text`` for a transfer that a person waits on: with the cell's progress line
    and timeout (``run_text`` is the quiet one for helper calls)."""
    def run(code: str) -> str:
        statement = session.run(code, "pyspark", timeout=timeout, quiet=quiet)
        if statement.state is StatementState.CANCELLED:
            raise StatementCancelled(f"Statement {statement.id} was cancelled (by `%livy cancel` "
                                     "or another client).")
        statement.raise_for_status()
        return (statement.output.text or "") if statement.output is not None else ""

    return run


def _run_sql_statements(state: NotebookState, request: CellRequest, prepared: Any, maxrows: int) -> Any:
    """A SQL cell of several statements, or with ``:name`` parameters: the statements run in
    order (each bound by Spark, never pasted), the last one's result is shown and kept by ``-o``;
    a failing statement stops the cell and is named by its number and line."""
    from dataclasses import replace

    from fabric_livy_magics.errors import StatementFailed
    from fabric_livy_magics.livy.lakehouse import fetch_sql, run_sql
    from fabric_livy_magics.livy.sql_text import is_catalog_change
    from fabric_livy_magics.notebook.completion import forget_catalog

    session = state.get_session()
    statements = prepared.statements
    last = statements[-1]
    try:
        if prepared.arguments[-1]:  # the last statement has parameters: one call runs them all
            result = fetch_sql(session.run_text, prepared, maxrows=_cap(maxrows))
            if result is None:
                return None
            _publish_table(state, request, result, maxrows)
            return result.frame
        run_sql(session.run_text, prepared, upto=len(statements) - 1)
        try:
            return run_cell(state, replace(request, code=last.text, language="sql"))
        except StatementFailed as exc:
            raise StatementFailed(exc.ename, f"statement {last.number} of {len(statements)} (line "
                                  f"{last.line}) failed: {exc.evalue}", exc.traceback) from None
    finally:
        if any(is_catalog_change(s.text) for s in statements):
            forget_catalog(state)


def _publish_table(state: NotebookState, request: CellRequest, result: Any, maxrows: int) -> None:
    """A SQL result as a person gets it: bound to ``-o``, shown unless quiet, and said when cut."""
    if request.output:
        state.shell.user_ns[request.output] = result.frame
    note = truncation_note(len(result.frame), result.total_rows, maxrows) if result.truncated else None
    if not request.quiet:
        show_items([TableItem(result.frame, result.truncated, result.total_rows, note)])
    elif note:
        print(note)


def _cap(maxrows: int) -> int | None:
    return None if maxrows < 0 else maxrows


def show_items(items: Sequence[DisplayItem]) -> None:
    """Show display items in the notebook: text as a stream, the rest as rich display data."""
    from IPython.display import Image, display

    for item in items:
        if isinstance(item, TextItem):
            text, note = capped_text(item.text)  # a cell printing 100k lines must not fill the notebook
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            if note:
                sys.stdout.write(note + "\n")
            sys.stdout.flush()
        elif isinstance(item, ImageItem):
            display(Image(data=item.png, format="png"))
        elif isinstance(item, TableItem):
            display(item.frame)
            if item.note:
                print(item.note)
        elif isinstance(item, JsonItem):
            try:
                json.dumps(item.data)
                display({"application/json": item.data, "text/plain": item.text}, raw=True)
            except (TypeError, ValueError):
                print(item.text)


#: The name IPython registers ``notebook.magics.LivyMagics`` under (no import: magics imports us).
MAGICS_CLASS = "LivyMagics"


def state_of(shell: Any) -> NotebookState:
    """The notebook state of a shell with the extension loaded (loads it if needed)."""
    magics = shell.magics_manager.registry.get(MAGICS_CLASS)
    if magics is None:
        shell.run_line_magic("load_ext", "fabric_livy_magics")
        magics = shell.magics_manager.registry[MAGICS_CLASS]
    return magics.state


def run_remote_cell(shell: Any, code: str, *, language: str | None = None,
                    output: str | None = None, maxrows: int | None = None,
                    quiet: bool = False, timeout: float | None = None) -> Any:
    """Run ``code`` in the notebook's remote session exactly as a ``%%livy`` cell would.

    For a wrapper kernel whose cells run remotely by default: results are displayed, remote
    errors raise StatementFailed (render it with ``_render_traceback_``), Ctrl-C cancels the
    statement and raises StatementCancelled."""
    request = CellRequest(code=code, language=language, output=output, maxrows=maxrows,
                          quiet=quiet, timeout=timeout)
    return run_cell(state_of(shell), request)


_COMPLETE_CODE = """\
def _flm_complete(ns, text):
    import json as _json, rlcompleter as _rl
    completer = _rl.Completer(ns)
    found = []
    for i in range(200):
        match = completer.complete(text, i)
        if match is None:
            break
        found.append(match)
    print(_json.dumps(found))
try:
    _flm_complete(locals(), __import__("json").loads(PAYLOAD))
finally:
    del _flm_complete
"""


def complete_remote(shell: Any, code: str, cursor_pos: int) -> tuple[list[str], int, int]:
    """Completions of the word before ``cursor_pos`` from the remote Python namespace.

    Returns ``(matches, start, end)`` as a kernel's ``do_complete`` needs. Never starts a
    session: before the first cell there is nothing remote to complete from, so it answers no
    matches. Uses Livy's ``/completion`` route where the server has one; on Fabric, which has
    none, it runs a tiny statement instead."""
    import re

    state = state_of(shell)
    session = state.session
    head = code[:cursor_pos]
    word = re.search(r"[\w.]*$", head)
    text = word.group(0) if word else ""
    start = cursor_pos - len(text)
    if session is None or not session.started or not text:
        return [], start, cursor_pos
    target = session.target
    if target is not None and not target.is_repl and session.client.endpoint.supports_completion_route:
        candidates = session.client.complete(target, head, kind="pyspark", cursor=cursor_pos)
        return [str(m).rstrip("(") for m in candidates], start, cursor_pos
    output = session.run_text(_COMPLETE_CODE.replace("PAYLOAD", repr(json.dumps(text))))
    try:
        matches = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        matches = []
    return [str(m).rstrip("(") for m in matches], start, cursor_pos
