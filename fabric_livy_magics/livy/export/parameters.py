"""The ``parameters`` cell (papermill's convention): typed parameters, the cell's values as defaults.

A code cell tagged ``parameters`` holds assignments such as ``month = "2026-01"`` or
``rows: int = 100``. Each becomes a parameter typed by its default — ``str``, ``int``, ``float``,
``bool``, or ``json`` for a list or dict (an annotation ``int``/``float``/``str``/``bool`` wins).
An assignment whose value is not a literal (``day = str(date.today())``) is a ``str`` parameter
whose default is that expression, evaluated only when no value is given. Other statements stay
as they are.

Values typed on a command line (``--param rows=200``) are checked here once, whichever way the
notebook runs: ``fabric-livy run`` injects them as a cell after this one (tagged
``injected-parameters``, as papermill does), ``batch submit`` passes them to the exported
script as ``--rows=200``, and the script's own argparse reads them with the same rules. Pure.
"""

from __future__ import annotations

import ast
import copy
import json
import math
import shlex
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy.export.cells import cell_source

__all__ = [
    "INJECTED_TAG",
    "PARAMETERS_TAG",
    "InjectedNotebook",
    "Parameter",
    "ParametersCell",
    "find_parameters",
    "inject_parameters",
    "parse_values",
]

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"

_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")
_ANNOTATED = {"int": "int", "float": "float", "str": "str", "bool": "bool"}


@dataclass(frozen=True)
class Parameter:
    """One parameter: ``type`` is str, int, float, bool or json; ``expression`` is the source of
    a default that is not a literal (then ``default`` is None and the type is str)."""

    name: str
    type: str
    default: Any = None
    expression: str | None = None

    @property
    def option(self) -> str:
        return f"--{self.name}"

    def describe_default(self) -> str:
        return self.expression if self.expression is not None else repr(self.default)

    def parse(self, text: str) -> Any:
        """A command-line value as this parameter's type; ConfigurationError naming it if wrong."""
        try:
            if self.type == "int":
                return int(text.strip())
            if self.type == "float":
                number = float(text.strip())
                if not math.isfinite(number):
                    raise ValueError("not finite")
                return number
            if self.type == "bool":
                word = text.strip().lower()
                if word not in _TRUE + _FALSE:
                    raise ValueError("not a truth value")
                return word in _TRUE
            if self.type == "json":
                value = json.loads(text)
                expected = type(self.default) if self.default is not None else (list, dict)
                if not isinstance(value, expected):
                    raise ValueError("wrong JSON type")
                return value
        except ValueError:
            raise ConfigurationError(
                f"Parameter {self.name} takes {_WORDS[self.type]} (its default is "
                f"{self.describe_default()}); got {text!r}.") from None
        return text

    def argument(self, value: Any) -> str:
        """``--name=value`` for the exported script (``=``: a value may start with ``-``)."""
        if self.type == "bool":
            text = "true" if value else "false"
        elif self.type == "json":
            text = json.dumps(value)
        else:
            text = str(value)
        return f"{self.option}={text}"


_WORDS = {"int": "a whole number", "float": "a number", "bool": "true or false",
          "json": "a JSON list or object", "str": "text"}


@dataclass(frozen=True)
class ParametersCell:
    """The cell tagged ``parameters``: its number, magic line, code and parameters.
    ``problem`` says why no parameters could be read (then ``parameters`` is empty)."""

    number: int
    index: int
    magic: str | None
    code: str
    parameters: tuple[Parameter, ...]
    problem: str | None = None

    def get(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def script_body(self, args: str = "_args") -> str:
        """The cell's code with each parameter assigned from the parsed command line ``args``."""
        tree = ast.parse(self.code)
        lines = self.code.splitlines()
        shared = _lines_with_several_statements(tree)
        for node in reversed(tree.body):
            parameter = _parameter_of(node, self.code)
            if parameter is None or {node.lineno, node.end_lineno} & shared:
                continue
            value = f"{args}.{parameter.name}"
            if parameter.expression is not None:
                value = f"{value} if {value} is not None else ({parameter.expression})"
            lines[node.lineno - 1: node.end_lineno] = [f"{parameter.name} = {value}"]
        return "\n".join(lines).strip("\n")

    def prefix(self) -> str | None:
        """The magic an injected cell needs to run where this one runs (``%%livy``, ``%%local``)."""
        if not self.magic:
            return None
        words = shlex.split(self.magic)
        kept = words[:1]
        for at, word in enumerate(words[1:], start=1):
            if word in ("-l", "--language") and at + 1 < len(words):
                kept += [word, words[at + 1]]
        return " ".join(kept)


def find_parameters(notebook: Mapping[str, Any]) -> ParametersCell | None:
    """The first code cell tagged ``parameters``, read; None when there is none."""
    for index, cell in enumerate(notebook.get("cells", [])):
        tags = (cell.get("metadata", {}) or {}).get("tags") or []
        if cell.get("cell_type") != "code" or PARAMETERS_TAG not in tags:
            continue
        text = cell_source(cell)
        magic = None
        lines = text.splitlines()
        if lines and lines[0].startswith("%%"):
            magic, text = lines[0].strip(), "\n".join(lines[1:])
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            return ParametersCell(index + 1, index, magic, text, (),
                                  problem=f"it is not Python: {exc.msg} (line {exc.lineno})")
        shared = _lines_with_several_statements(tree)
        found: dict[str, Parameter] = {}
        for node in tree.body:
            parameter = _parameter_of(node, text)
            if parameter is not None and not {node.lineno, node.end_lineno} & shared:
                found[parameter.name] = parameter  # a name assigned twice: the last one counts
        return ParametersCell(index + 1, index, magic, text, tuple(found.values()))
    return None


def _lines_with_several_statements(tree: ast.Module) -> set[int]:
    """Lines holding more than one top-level statement (``a = 1; b = 2``): left as written."""
    seen: dict[int, int] = {}
    for node in tree.body:
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
            seen[line] = seen.get(line, 0) + 1
    return {line for line, count in seen.items() if count > 1}


def _parameter_of(node: ast.stmt, code: str) -> Parameter | None:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        name, value, annotation = node.targets[0].id, node.value, None
    elif (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
          and node.value is not None):
        name, value = node.target.id, node.value
        annotation = _ANNOTATED.get(node.annotation.id) if isinstance(node.annotation, ast.Name) else None
    else:
        return None
    expression = ast.get_source_segment(code, value) or ast.unparse(value)
    try:
        literal = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return Parameter(name, "str", None, expression=expression)
    kind = _type_of(literal, annotation)
    if kind is None:
        return Parameter(name, "str", None, expression=expression)
    if kind == "float" and isinstance(literal, int) and not isinstance(literal, bool):
        literal = float(literal)
    return Parameter(name, kind, literal)


def _type_of(value: Any, annotation: str | None) -> str | None:
    if value is None:
        return annotation or "str"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "float" if annotation == "float" else "int"
    if isinstance(value, float):
        return "float" if math.isfinite(value) else None
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, dict)):
        return "json"
    return None


def parse_values(items: Sequence[str], cell: ParametersCell | None, *,
                 notebook: str = "the notebook") -> dict[str, Any]:
    """``["rows=200", ...]`` checked against the parameters cell: typed values by name."""
    values: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigurationError(f"--param takes NAME=VALUE; got {item!r}.")
        if cell is None:
            raise ConfigurationError(
                f"{notebook} has no cell tagged 'parameters', so --param {name}=... has nowhere to "
                "go. Tag the cell that sets the defaults 'parameters' (papermill's convention).")
        if cell.problem:
            raise ConfigurationError(f"The parameters cell ({cell.number}) of {notebook} cannot be "
                                     f"read: {cell.problem}.")
        parameter = cell.get(name)
        if parameter is None:
            known = ", ".join(p.name for p in cell.parameters) or "none"
            raise ConfigurationError(f"{notebook} has no parameter {name!r} (cell {cell.number} "
                                     f"sets: {known}).")
        values[name] = parameter.parse(text)
    return values


@dataclass(frozen=True)
class InjectedNotebook:
    """The notebook with its injected cell; ``numbers[i]`` is the 1-based number cell ``i`` had
    in the original notebook (None for the injected cell), so messages name the cell a person
    sees in their own notebook."""

    notebook: dict[str, Any]
    numbers: tuple[int | None, ...]


def inject_parameters(notebook: Mapping[str, Any], values: Mapping[str, Any],
                      cell: ParametersCell | None) -> InjectedNotebook:
    """A copy of ``notebook`` with ``values`` in a new cell after the parameters cell, tagged
    ``injected-parameters``; cells injected by an earlier run are removed first. With no
    values the notebook is returned as it is."""
    copied = copy.deepcopy(dict(notebook))
    cells = list(copied.get("cells", []))
    numbers: list[int | None] = list(range(1, len(cells) + 1))
    if not values or cell is None:
        return InjectedNotebook(copied, tuple(numbers))
    kept = [(c, n) for c, n in zip(cells, numbers)
            if INJECTED_TAG not in ((c.get("metadata", {}) or {}).get("tags") or [])]
    lines = [cell.prefix()] if cell.prefix() else []
    lines.append("# Parameters given on the command line")
    lines += [f"{name} = {value!r}" for name, value in values.items()]
    new: dict[str, Any] = {"cell_type": "code", "execution_count": None,
                           "metadata": {"tags": [INJECTED_TAG]}, "outputs": [],
                           "source": "\n".join(lines)}
    if any("id" in c for c in cells):
        new["id"] = uuid.uuid4().hex[:8]
    at = next(i for i, (_, n) in enumerate(kept) if n == cell.number) + 1
    kept.insert(at, (new, None))
    copied["cells"] = [c for c, _ in kept]
    return InjectedNotebook(copied, tuple(n for _, n in kept))
