"""``fabric-livy run``: a notebook headless, its parameters injected, the first failing cell named.

These notebooks never reach Spark (their cells are local): the kernel is what is tested. The
run against Spark is in ``test_notebook_jobs.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def write_notebook(path: Path, kernel: str, *cells: Any) -> Path:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nbformat.write(nb, path)
    return path


def test_failing_cell_stops_the_run_names_the_cell_and_still_writes_html(fabric_livy: Any, tmp_path: Path) -> None:
    """In this project's kernel (launched from this Python, not installed): the parameter is
    injected after the parameters cell, local like it, and the failing cell is named by its
    number in the person's notebook."""
    source = write_notebook(
        tmp_path / "nightly.ipynb", "fabric-livy",
        new_markdown_cell("# Nightly"),
        new_code_cell("%%local\nlimit = 1", metadata={"tags": ["parameters"]}),
        new_code_cell("%%local\nimport sys\nprint('kernel module', type(get_ipython().kernel).__module__)"),
        new_code_cell("%%local\nassert limit < 3, f'limit too high: {limit}'"),
        new_code_cell("%%local\nprint('never')"),
    )
    out = tmp_path / "out"
    done = fabric_livy("run", str(source), "--param", "limit=5", "--out", str(out))
    assert done.code == 1
    message = done.err.strip().splitlines()[-1]
    assert message.startswith("fabric-livy run: cell 4 (id ")
    assert "failed: AssertionError: limit too high: 5." in message and str(out / "nightly.html") in message
    executed = json.loads((out / "nightly.ipynb").read_text())
    injected = executed["cells"][2]
    assert injected["metadata"]["tags"] == ["injected-parameters"]
    assert "".join(injected["source"]) == "%%local\n# Parameters given on the command line\nlimit = 5"
    outputs = ["".join(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", [])]
    assert "kernel module fabric_livy_magics.notebook.kernel\n" in outputs  # the project's kernel
    assert not any("never" in text for text in outputs)
    assert "limit too high" in (out / "nightly.html").read_text()


def test_a_clean_run_exits_zero_and_a_bad_parameter_exits_two_before_any_kernel(
        fabric_livy: Any, tmp_path: Path) -> None:
    source = write_notebook(
        tmp_path / "report.ipynb", "python3",
        new_code_cell("rows = 10\nname = 'x'", metadata={"tags": ["parameters"]}),
        new_code_cell("import sys\nprint(rows * 2, name, sys.executable)"),
    )
    done = fabric_livy("run", str(source), "--param", "rows=21", "--out", str(tmp_path / "o"))
    assert done.code == 0, done.err
    assert "Executed 3 cells" in done.out and (tmp_path / "o" / "report.html").is_file()
    executed = nbformat.read(tmp_path / "o" / "report.ipynb", as_version=4)
    import sys

    assert executed.cells[2].outputs[0]["text"] == f"42 x {sys.executable}\n"  # this Python's ipykernel
    wrong = fabric_livy("run", str(source), "--param", "rows=many", "--out", str(tmp_path / "w"))
    assert wrong.code == 2 and "rows takes a whole number" in wrong.err
    unknown = fabric_livy("run", str(source), "--param", "colour=red", "--out", str(tmp_path / "w"))
    assert unknown.code == 2 and "has no parameter 'colour'" in unknown.err
    assert not (tmp_path / "w").exists()  # nothing ran, nothing written
