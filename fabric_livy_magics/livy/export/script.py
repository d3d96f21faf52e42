"""One PySpark script from a notebook's remote cells, in order: a job for ``spark-submit`` or a
Livy batch (``fabric-livy export``, ``fabric-livy batch submit NOTEBOOK.ipynb``).

* remote Python cells go in as they are; ``-o NAME`` (bringing a frame home) is dropped with a
  comment; a cell's last expression is printed as Livy shows it (its ``repr``, unless None);
* SQL cells become ``spark.sql(...).show()`` — or ``NAME = spark.sql(...).toPandas()`` where
  ``-o NAME`` is used by later exported code;
* the cell tagged ``parameters`` becomes command-line options (``parameters.py``);
* local cells (``%%local``, ``%load_ext``, ``%livy ...``, plain Python in a Python kernel) and
  cells tagged ``raises-exception`` are left out with a comment saying so;
* what no job can run (``%livy send``, Scala or R cells) is listed by cell number and left out;
  :meth:`ExportResult.raise_if_untranslated` makes that an error (``--strict``).

The script creates ``spark`` itself (and ``sc``, ``sqlContext`` when the code uses them), as
Livy's REPL does. Pure: reads the notebook JSON, returns text.
"""

from __future__ import annotations

import ast
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy.export.cells import Cell, CellKind, names_used, read_cells
from fabric_livy_magics.livy.export.parameters import Parameter, ParametersCell, find_parameters

__all__ = ["CellNote", "ExportResult", "NoteKind", "export_notebook", "read_notebook"]


class NoteKind(enum.Enum):
    LEFT_OUT = "left out"  # runs in the notebook's own Python, or is expected to fail
    NOT_TRANSLATED = "not translated"  # a job cannot run it: the script differs from the notebook


@dataclass(frozen=True)
class CellNote:
    """Why a cell (or part of one) is not in the script."""

    cell: int
    kind: NoteKind
    reason: str
    cell_id: str | None = None

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.reason}"


@dataclass(frozen=True)
class ExportResult:
    """The script, its parameters, and what was left out or could not be translated."""

    script: str
    source: str
    parameters: tuple[Parameter, ...] = ()
    parameters_cell: ParametersCell | None = None
    notes: tuple[CellNote, ...] = ()
    exported_cells: tuple[int, ...] = field(default=())

    @property
    def left_out(self) -> tuple[CellNote, ...]:
        return tuple(n for n in self.notes if n.kind is NoteKind.LEFT_OUT)

    @property
    def untranslated(self) -> tuple[CellNote, ...]:
        return tuple(n for n in self.notes if n.kind is NoteKind.NOT_TRANSLATED)

    def raise_if_untranslated(self) -> None:
        """ConfigurationError listing the cells a job cannot run (``--strict``)."""
        if self.untranslated:
            listed = "; ".join(str(note) for note in self.untranslated)
            raise ConfigurationError(f"{self.source}: {len(self.untranslated)} cell(s) cannot run "
                                     f"as a job: {listed}.")

    def summary(self) -> str:
        """One line for people: what went in, what stayed out."""
        text = f"Exported {len(self.exported_cells)} cell(s) of {self.source}"
        if self.parameters:
            text += f", parameters {', '.join(p.name for p in self.parameters)}"
        text += f"; {len(self.left_out)} left out (local)"
        if self.untranslated:
            text += f"; NOT translated: {', '.join(str(n.cell) for n in self.untranslated)}"
        return text + "."


def read_notebook(path: str | Path) -> dict[str, Any]:
    """The notebook's JSON; ConfigurationError for a missing or unreadable file."""
    location = Path(path).expanduser()
    try:
        data = json.loads(location.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"Notebook {str(location)!r} does not exist. Check the path.") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigurationError(f"Cannot read notebook {str(location)!r}: {exc}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ConfigurationError(f"{str(location)!r} is not a Jupyter notebook (no cells).")
    if int(data.get("nbformat", 4)) < 4:
        raise ConfigurationError(f"{str(location)!r} is an nbformat 3 notebook: open and save it in "
                                 "Jupyter to upgrade it to version 4.")
    return data


def export_notebook(notebook: Mapping[str, Any], *, source: str = "notebook.ipynb") -> ExportResult:
    """Translate ``notebook`` (nbformat 4 JSON as a dict) into one PySpark script."""
    cells = read_cells(notebook)
    params = find_parameters(notebook)
    notes: list[CellNote] = []
    chunks: list[tuple[Cell, str]] = []  # (cell, code) in order, before SQL -o is decided
    for cell in cells:
        if params is not None and cell.number == params.number:
            if params.problem:
                notes.append(CellNote(cell.number, NoteKind.NOT_TRANSLATED,
                                      f"parameters cell: {params.problem}", cell.cell_id))
            else:
                chunks.append((cell, params.script_body()))
            continue
        if cell.kind is CellKind.LOCAL:
            notes.append(CellNote(cell.number, NoteKind.LEFT_OUT, cell.reason or "local", cell.cell_id))
        elif cell.kind is CellKind.UNTRANSLATABLE:
            notes.append(CellNote(cell.number, NoteKind.NOT_TRANSLATED, cell.reason or "", cell.cell_id))
        elif cell.kind in (CellKind.PYTHON, CellKind.SQL):
            if cell.kind is CellKind.PYTHON and cell.reason:  # Livy display magics dropped
                notes.append(CellNote(cell.number, NoteKind.LEFT_OUT, cell.reason, cell.cell_id))
            chunks.append((cell, cell.code))

    body: list[str] = []
    used: set[str] = set()
    helper = False
    notes_by_cell = {n.cell: n for n in notes}
    chunk_at = {cell.number: i for i, (cell, _) in enumerate(chunks)}
    for cell in cells:
        note = notes_by_cell.get(cell.number)
        if cell.number not in chunk_at:
            if note is not None:
                tag = "NOT TRANSLATED" if note.kind is NoteKind.NOT_TRANSLATED else "left out"
                body += ["", f"# --- cell {cell.number}: {tag}: {note.reason}"]
            continue
        at = chunk_at[cell.number]
        code = chunks[at][1]
        header = f"# --- cell {cell.number}" + (f": {cell.magic}" if cell.magic else "")
        if params is not None and cell.number == params.number:
            header = f"# --- cell {cell.number}: parameters (command-line options, parsed above)"
        elif cell.kind is CellKind.SQL:
            later = set().union(*(names_used(text) for other, text in chunks[at + 1:]
                                  if other.kind is CellKind.PYTHON))
            code, comment = _sql(cell, keep_output=bool(cell.output) and cell.output in later)
            if comment:
                body += ["", header, comment]
                header = ""
        else:
            if cell.output:
                header += f"\n# -o {cell.output} left out: it brought the DataFrame into the notebook"
            code, shown = _print_last_expression(code)
            helper = helper or shown
        used |= names_used(code)
        body += ["", header, code] if header else [code]

    script = "\n".join(_preamble(source, params, used, helper) + body) + "\n"
    compile(script, source, "exec")  # every piece compiled alone; the whole must too
    exported = tuple(cell.number for cell, _ in chunks)
    return ExportResult(script, source, params.parameters if params else (), params,
                        tuple(notes), exported)


# --- pieces ------------------------------------------------------------------------------------

def _preamble(source: str, params: ParametersCell | None, used: set[str], helper: bool) -> list[str]:
    parameters = params.parameters if params else ()
    usage = "".join(f" [{p.option} {p.name.upper()}]" for p in parameters)
    lines = [
        '"""Exported from ' + source.replace('"', "'") + " by `fabric-livy export`: the notebook's "
        "remote cells, in order.",
        "",
        f"Run it with `spark-submit {Path(source).stem}.py{usage}` or as a Livy batch.",
        '"""',
        "",
    ]
    if parameters:
        lines.append("import argparse")
    if any(p.type == "json" for p in parameters):
        lines.append("import json")
    lines += ["", "from pyspark.sql import SparkSession", ""] if parameters else [
        "from pyspark.sql import SparkSession", ""]
    if parameters:
        lines += _argparse_block(source, parameters)
    lines.append("spark = SparkSession.builder.getOrCreate()")
    if "sc" in used or "sqlContext" in used:
        lines.append("sc = spark.sparkContext")
    if "sqlContext" in used:
        lines += ["from pyspark.sql import SQLContext", "", "sqlContext = SQLContext(sc, spark)"]
    if helper:
        lines += ["", "", "def _print_result(value):",
                  '    """What the notebook showed for a cell\'s last expression (Livy prints its repr)."""',
                  "    if value is not None:", "        print(repr(value))", ""]
    return lines


def _argparse_block(source: str, parameters: tuple[Parameter, ...]) -> list[str]:
    lines: list[str] = []
    if any(p.type == "bool" for p in parameters):
        lines += ["", "def _flag(text):", '    """true/false, yes/no, on/off, 1/0."""',
                  "    word = text.strip().lower()", '    if word in ("true", "yes", "1", "on"):',
                  "        return True", '    if word in ("false", "no", "0", "off"):',
                  "        return False",
                  '    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")', "", ""]
    types = {"str": "str", "int": "int", "float": "float", "bool": "_flag", "json": "json.loads"}
    lines.append(f"_parser = argparse.ArgumentParser(description={('Parameters of ' + source)!r})")
    for p in parameters:
        flags = [p.option] + ([f"--{p.name.replace('_', '-')}"] if "_" in p.name else [])
        text = f"default: {p.describe_default()}".replace("%", "%%")
        lines.append(f"_parser.add_argument({', '.join(map(repr, flags))}, dest={p.name!r}, "
                     f"type={types[p.type]}, default={p.default!r}, help={text!r})")
    return lines + ["_args = _parser.parse_args()", ""]


def _string_literal(text: str) -> str:
    """A readable Python literal for ``text``: triple-quoted when that is exact, else repr."""
    candidate = f'"""\n{text}\n"""'
    try:
        if ast.literal_eval(candidate) == f"\n{text}\n" and "\\" not in text:
            return candidate
    except (SyntaxError, ValueError):
        pass
    return repr(text)


def _sql(cell: Cell, *, keep_output: bool) -> tuple[str, str | None]:
    """(code, comment) for a SQL cell."""
    query = f"spark.sql({_string_literal(cell.code)})"
    if keep_output:
        limit = f".limit({cell.maxrows})" if cell.maxrows is not None and cell.maxrows >= 0 else ""
        code = f"{cell.output} = {query}{limit}.toPandas()"
        return (code if cell.quiet else f"{code}\nprint({cell.output})"), None
    comment = None
    if cell.output:
        comment = (f"# -o {cell.output} left out: only the notebook's local cells used it "
                   "(no exported code reads it)")
    return (query if cell.quiet else f"{query}.show(truncate=False)"), comment


#: Calls that print or write and return None: a cell ending in one needs no wrapping.
_SHOWS_OR_WRITES = frozenset({
    "print", "show", "printSchema", "explain", "display", "createOrReplaceTempView",
    "createTempView", "createGlobalTempView", "createOrReplaceGlobalTempView", "saveAsTable",
    "insertInto", "save"})


def _print_last_expression(code: str) -> tuple[str, bool]:
    """Wrap the cell's last top-level expression in ``_print_result(...)``: a job's log then shows
    what the notebook showed. Returns (code, whether it wrapped)."""
    tree = ast.parse(code)
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return code, False
    node = tree.body[-1]
    if isinstance(node.value, ast.Call):
        func = node.value.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in _SHOWS_OR_WRITES:
            return code, False
    lines = code.splitlines()
    start, end = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    # col offsets count UTF-8 bytes
    first = lines[start].encode()
    last_line = lines[end].encode()
    if start == end:
        lines[start] = (first[: node.col_offset] + b"_print_result(" + first[node.col_offset: node.end_col_offset]
                        + b")" + first[node.end_col_offset:]).decode()
    else:
        lines[start] = (first[: node.col_offset] + b"_print_result(" + first[node.col_offset:]).decode()
        lines[end] = (last_line[: node.end_col_offset] + b")" + last_line[node.end_col_offset:]).decode()
    wrapped = "\n".join(lines)
    try:
        ast.parse(wrapped)
    except SyntaxError:
        return code, False
    return wrapped, True
