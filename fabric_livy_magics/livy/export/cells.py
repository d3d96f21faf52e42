"""What each notebook cell is, for a job: remote Python, remote SQL, local, or not translatable.

Two kinds of notebook are read, by the ``kernelspec`` in the notebook's metadata:

* **a Python kernel** (ipykernel, with ``%load_ext fabric_livy_magics``): only ``%%livy`` and
  ``%%livy_sql`` cells run remotely; everything else runs in the notebook's own Python.
* **a remote-by-default kernel** (this project's kernel; also Fabric's ``synapse_pyspark`` and
  sparkmagic's ``pysparkkernel``, which follow the same convention): every cell runs remotely
  except ``%%local`` cells, other cell magics, and cells made only of line magics or shell
  escapes — the rule of ``notebook/kernel.classify_cell``, which this module mirrors (the
  library cannot import the notebook layer; a test holds the two together). Fabric's
  ``%%sql``, ``%%pyspark``, ``%%spark``, ``%%sparkr`` mean what they mean there
  (``notebook/habits.py``).

Cells are numbered from 1 in notebook order, markdown and raw cells included, so that "cell 5"
is the fifth cell a person sees. Pure: no I/O.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import enum
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fabric_livy_magics.livy.targets import KINDS

__all__ = [
    "REMOTE_KERNEL_NAMES",
    "PROJECT_KERNEL_DISPLAY_NAME",
    "Cell",
    "CellKind",
    "cell_source",
    "is_remote_by_default",
    "names_used",
    "read_cells",
]

#: Kernel names whose cells run remotely unless marked: this project's (``fabric-livy``, as
#: ``notebook/kernelspec.DEFAULT_KERNEL_NAME``; any name starting with it, as tests install
#: ``fabric-livy-tests``), Fabric's own notebooks, and sparkmagic's PySpark kernel.
REMOTE_KERNEL_NAMES = ("fabric-livy", "synapse_pyspark", "pysparkkernel")
#: ``notebook/kernelspec.DISPLAY_NAME``: a spec installed under another name still says this.
PROJECT_KERNEL_DISPLAY_NAME = "PySpark on Fabric (Livy)"

#: Livy's Python REPL magics (``repl/src/main/resources/fake_shell.py``): they only display.
_LIVY_DISPLAY_MAGICS = ("%table", "%json", "%matplot")
_LOCAL_MARKER = "%%local"


class CellKind(enum.Enum):
    PYTHON = "python"  # remote PySpark code: goes into the job as it is
    SQL = "sql"  # remote Spark SQL: becomes spark.sql(...)
    LOCAL = "local"  # runs in the notebook's own Python: left out, with a comment
    UNTRANSLATABLE = "untranslatable"  # remote, or needed by remote code, but no job can run it
    NOTHING = "nothing"  # markdown, raw, blank: nothing to say


@dataclass(frozen=True)
class Cell:
    """One notebook cell as a job sees it. ``code`` is the remote code without its magic line;
    ``magic`` the magic line as written (for the script's comments); ``reason`` says why a
    cell is left out or not translated."""

    number: int
    kind: CellKind
    code: str = ""
    magic: str | None = None
    output: str | None = None  # -o NAME
    maxrows: int | None = None  # -n N
    quiet: bool = False  # -q
    reason: str | None = None
    tags: frozenset[str] = frozenset()
    cell_id: str | None = None


def cell_source(cell: Mapping[str, Any]) -> str:
    """A cell's text: nbformat stores it as one string or a list of lines."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def is_remote_by_default(notebook: Mapping[str, Any]) -> bool:
    """True when the notebook's kernel runs unmarked cells remotely (see the module docstring)."""
    spec = notebook.get("metadata", {}).get("kernelspec") or {}
    name = str(spec.get("name") or "").lower()
    return (any(name == known or name.startswith(known + "-") for known in REMOTE_KERNEL_NAMES)
            or spec.get("display_name") == PROJECT_KERNEL_DISPLAY_NAME)


def read_cells(notebook: Mapping[str, Any]) -> list[Cell]:
    """Every cell of ``notebook`` (nbformat 4 JSON as a dict), classified."""
    remote_default = is_remote_by_default(notebook)
    cells = []
    for index, raw in enumerate(notebook.get("cells", [])):
        number = index + 1
        tags = frozenset(str(t) for t in (raw.get("metadata", {}).get("tags") or []))
        cell_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        if raw.get("cell_type") != "code" or not cell_source(raw).strip():
            cells.append(Cell(number, CellKind.NOTHING, tags=tags, cell_id=cell_id))
            continue
        cell = _classify(number, cell_source(raw), remote_default)
        if "raises-exception" in tags and cell.kind in (CellKind.PYTHON, CellKind.SQL):
            cell = Cell(number, CellKind.LOCAL, magic=cell.magic,
                        reason="tagged raises-exception: the notebook expects it to fail")
        cells.append(dataclasses.replace(cell, tags=tags, cell_id=cell_id))
    return cells


# --- one cell ----------------------------------------------------------------------------------

def _meaningful(lines: Sequence[str]) -> list[str]:
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _classify(number: int, text: str, remote_default: bool) -> Cell:
    lines = text.splitlines()
    meaningful = _meaningful(lines)
    if not meaningful:
        return Cell(number, CellKind.NOTHING)
    first = meaningful[0].strip()
    if first.startswith("%%"):
        at = next(i for i, line in enumerate(lines) if line.strip() == first)
        return _cell_magic(number, first, "\n".join(lines[at + 1:]), remote_default)
    sends = _sends(meaningful)
    if all(line.lstrip().startswith(("%", "!")) for line in meaningful):
        if sends:
            return _untranslatable(number, None, sends)
        names = sorted({line.split()[0] for line in meaningful})
        return Cell(number, CellKind.LOCAL, reason=f"{', '.join(names)}: commands for the notebook")
    if not remote_default:
        if sends:
            return _untranslatable(number, None, sends)
        return Cell(number, CellKind.LOCAL, reason="plain Python: runs in the notebook's own Python")
    return _python(number, text, None)


def _sends(lines: Sequence[str]) -> str | None:
    """The first ``%livy send NAME`` line: local data sent to Spark, which a job does not have."""
    for line in lines:
        words = line.split()
        if words[:2] == ["%livy", "send"]:
            name = words[2] if len(words) > 2 else "..."
            return (f"%livy send {name} sends data from the notebook's own Python, which a job does "
                    "not have: create it with Spark (spark.read, spark.createDataFrame) in a remote cell")
    return None


def _untranslatable(number: int, magic: str | None, reason: str) -> Cell:
    return Cell(number, CellKind.UNTRANSLATABLE, magic=magic, reason=reason)


class _Refused(Exception):
    """The magic line's options could not be read."""


class _OptionParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit; a cell is reported instead
        raise _Refused(message)


def _options(name: str, words: list[str], *, language: bool) -> argparse.Namespace:
    """The options of ``%%livy`` / ``%%livy_sql`` (as ``notebook/magics.py`` declares them)."""
    parser = _OptionParser(prog=f"%%{name}", add_help=False)
    if language:
        parser.add_argument("-l", "--language", choices=KINDS)
    parser.add_argument("-o", "--output")
    parser.add_argument("-n", "--maxrows", type=int)
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument("--timeout", type=float)
    return parser.parse_args(words)


#: Cell magic -> (statement kind, whether it takes -l), where it runs remotely.
_REMOTE_MAGICS = {"livy": (None, True), "livy_sql": ("sql", False)}
#: Fabric's names, in a remote-by-default kernel (``notebook/habits.py``).
_HABIT_MAGICS = {"sql": ("sql", False), "pyspark": ("pyspark", False), "spark": ("spark", False),
                 "sparkr": ("sparkr", False)}


def _cell_magic(number: int, line: str, body: str, remote_default: bool) -> Cell:
    name, _, rest = line[2:].partition(" ")
    known = dict(_REMOTE_MAGICS, **(_HABIT_MAGICS if remote_default else {}))
    if line.split()[0] == _LOCAL_MARKER:
        return Cell(number, CellKind.LOCAL, magic=line, reason="%%local: runs in the notebook's own Python")
    if name not in known:
        return Cell(number, CellKind.LOCAL, magic=line,
                    reason=f"%%{name}: a cell magic that runs in the notebook's own Python")
    implied, takes_language = known[name]
    try:
        args = _options(name, shlex.split(rest), language=takes_language)
    except (_Refused, ValueError) as exc:
        return _untranslatable(number, line, f"its options could not be read ({exc})")
    kind = getattr(args, "language", None) or implied or "pyspark"
    if kind == "spark":
        return _untranslatable(number, line, "Scala (%%livy -l spark): a PySpark job cannot run it; "
                                             "put it in a Spark job definition (JAR)")
    if kind == "sparkr":
        return _untranslatable(number, line, "R (%%livy -l sparkr): a PySpark job cannot run it")
    if kind == "sql":
        return Cell(number, CellKind.SQL, code=body.strip(), magic=line, output=args.output,
                    maxrows=args.maxrows, quiet=args.quiet)
    return _python(number, body, line, output=args.output)


def _python(number: int, text: str, magic: str | None, *, output: str | None = None) -> Cell:
    """Remote Python: Livy's display magics become comments; other ``%``/``!`` lines and code
    that does not compile are not translatable."""
    lines = text.splitlines()
    dropped = []
    for at, line in enumerate(lines):
        stripped = line.strip()
        if not stripped.startswith(("%", "!")):
            continue
        word = stripped.split()[0]
        if word not in _LIVY_DISPLAY_MAGICS:
            return _untranslatable(number, magic, f"line {at + 1} ({stripped[:40]}) is not Python")
        indent = line[: len(line) - len(line.lstrip())]
        lines[at] = f"{indent}pass  # {stripped}: Livy shows it in a notebook; a job has nowhere to"
        dropped.append(word)
    code = "\n".join(lines).strip("\n")
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return _untranslatable(number, magic, f"not Python: {exc.msg} (line {exc.lineno})")
    reason = f"{', '.join(sorted(set(dropped)))} left out" if dropped else None
    return Cell(number, CellKind.PYTHON, code=code, magic=magic, output=output, reason=reason)


def names_used(code: str) -> set[str]:
    """Names ``code`` reads (for: does a later cell use ``-o NAME``, ``sc``, ``sqlContext``)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)}
