"""The ``parameters`` cell: typed parameters, ``--param`` values, the injected cell, the script's
own argparse (run for real, stopping before Spark starts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy.export import (
    INJECTED_TAG,
    export_notebook,
    find_parameters,
    inject_parameters,
    parse_values,
)

PARAMETERS = '''%%livy
from datetime import date
# Defaults for a scheduled run.
rows = 100
ratio: float = 2
enabled = True
label = "north"
regions = ["north", "south"]
limits = {"max": 5}
note = None
day = str(date.today())
a = 1; b = 2
rows = 150
'''


def params_notebook(source: str = PARAMETERS) -> dict[str, Any]:
    nb = new_notebook(cells=[
        new_markdown_cell("# Job"),
        new_code_cell("%load_ext fabric_livy_magics"),
        new_code_cell(source, metadata={"tags": ["parameters"]}),
        new_code_cell("%%livy\nprint(rows, ratio, enabled, label, regions, limits, note, day, a, b)"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_each_assignment_is_a_parameter_typed_by_its_default() -> None:
    cell = find_parameters(params_notebook())
    assert cell is not None and cell.number == 3 and cell.magic == "%%livy"
    found = {p.name: (p.type, p.default, p.expression) for p in cell.parameters}
    assert found == {
        "rows": ("int", 150, None),  # assigned twice: the last one counts
        "ratio": ("float", 2.0, None),  # the annotation wins over the literal's type
        "enabled": ("bool", True, None),
        "label": ("str", "north", None),
        "regions": ("json", ["north", "south"], None),
        "limits": ("json", {"max": 5}, None),
        "note": ("str", None, None),
        "day": ("str", None, "str(date.today())"),
    }  # a and b share a line: left as written, not parameters


def test_values_from_the_command_line_are_checked_and_typed() -> None:
    cell = find_parameters(params_notebook())
    values = parse_values(["rows=7", "ratio=0.5", "enabled=No", "label=-x=y", 'regions=["east"]',
                           "day=2026-01-31"], cell)
    assert values == {"rows": 7, "ratio": 0.5, "enabled": False, "label": "-x=y",
                      "regions": ["east"], "day": "2026-01-31"}
    assert [cell.get(n).argument(v) for n, v in values.items()] == [  # type: ignore[union-attr]
        "--rows=7", "--ratio=0.5", "--enabled=false", "--label=-x=y", '--regions=["east"]',
        "--day=2026-01-31"]
    for item, message in (("rows=many", "rows takes a whole number (its default is 150); got 'many'"),
                          ("ratio=inf", "ratio takes a number"),
                          ("enabled=maybe", "enabled takes true or false"),
                          ("regions={}", "regions takes a JSON list or object"),
                          ("colour=red", "has no parameter 'colour' (cell 3 sets: rows, ratio,"),
                          ("rows", "--param takes NAME=VALUE")):
        with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_values([item], cell)
    with pytest.raises(ConfigurationError, match="job.ipynb has no cell tagged 'parameters'"):
        parse_values(["rows=1"], None, notebook="job.ipynb")
    assert parse_values([], None) == {}


def test_injected_cell_follows_the_parameters_cell_and_runs_where_it_runs() -> None:
    nb = params_notebook()
    cell = find_parameters(nb)
    first = inject_parameters(nb, {"rows": 7, "label": "it's"}, cell)
    cells = first.notebook["cells"]
    assert [c["metadata"].get("tags") for c in cells][2:4] == [["parameters"], [INJECTED_TAG]]
    assert cells[3]["source"] == "%%livy\n# Parameters given on the command line\nrows = 7\nlabel = \"it's\""
    assert first.numbers == (1, 2, 3, None, 4)
    assert nb["cells"][3]["source"].startswith("%%livy\nprint")  # the original is untouched
    again = inject_parameters(first.notebook, {"rows": 8}, find_parameters(first.notebook))
    assert [c["source"].splitlines()[-1] for c in again.notebook["cells"]].count("rows = 8") == 1
    assert len(again.notebook["cells"]) == 5  # the earlier injected cell is replaced, not kept
    assert inject_parameters(nb, {}, cell).notebook == nb
    local = find_parameters(params_notebook("%%local\nrows = 1"))
    assert local is not None and local.prefix() == "%%local"
    plain = find_parameters(params_notebook("rows = 1"))
    assert plain is not None and plain.prefix() is None


def test_script_reads_parameters_with_the_same_rules(tmp_path: Path) -> None:
    result = export_notebook(params_notebook(), source="job.ipynb")
    assert [p.name for p in result.parameters][:2] == ["rows", "ratio"]
    body = result.script.split("# --- cell 3: parameters")[1]
    assert "rows = _args.rows\n" in body and "a = 1; b = 2" in body
    assert "day = _args.day if _args.day is not None else (str(date.today()))" in body
    script = tmp_path / "job.py"
    script.write_text(result.script)

    def run(*args: str) -> subprocess.CompletedProcess[str]:  # argparse stops before Spark starts
        return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                              timeout=60)

    usage = run("--help")
    assert usage.returncode == 0
    assert "--rows ROWS" in usage.stdout and "default: 150" in usage.stdout
    assert "--regions REGIONS" in usage.stdout and "default: str(date.today())" in usage.stdout
    bad_flag = run("--enabled=maybe")
    assert bad_flag.returncode == 2 and "expected true or false, got 'maybe'" in bad_flag.stderr
    bad_number = run("--rows", "many")
    assert bad_number.returncode == 2 and "invalid int value: 'many'" in bad_number.stderr


def test_unreadable_parameters_cell_is_reported_and_refuses_values() -> None:
    nb = params_notebook("%%livy\nrows = (")
    result = export_notebook(nb)
    [note] = result.untranslated
    assert note.cell == 3 and note.reason.startswith("parameters cell: it is not Python")
    with pytest.raises(ConfigurationError, match=r"parameters cell \(3\) of the notebook cannot be read"):
        parse_values(["rows=1"], result.parameters_cell)
