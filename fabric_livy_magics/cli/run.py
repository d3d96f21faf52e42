"""``fabric-livy run NOTEBOOK.ipynb [--param k=v ...] [--out DIR]``: execute a notebook headless,
for CI and schedulers.

The notebook runs top to bottom through a real Jupyter kernel of this Python, with nbclient (as
``fabric-livy demo`` does): this project's kernel when the notebook names it (or another
remote-by-default kernel: ``livy/export/cells.py``), else ipykernel with the notebook's own
``%load_ext fabric_livy_magics``. Neither needs to be installed with Jupyter; ``--kernel NAME``
uses an installed kernel instead. ``--param`` values go into a new cell after the cell tagged
``parameters``, tagged ``injected-parameters`` (papermill's convention), typed like the defaults.

Where cells run is the notebook's business (``%livy connect``, FABRIC_LIVY_URL, the Fabric
settings): the kernel inherits this environment.

Writes ``DIR/NAME.ipynb`` (executed) and ``DIR/NAME.html``, also when a cell fails. Exit status:
0 when every cell ran; 1 at the first failing cell (one line naming it; cells tagged
``raises-exception`` may fail), a cell timeout or a dead kernel; 2 for a notebook that cannot be
read or a ``--param`` it does not take.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RunResult", "register", "run_notebook"]

#: Seconds a cell may take by default: a Fabric session may take minutes to start.
DEFAULT_CELL_TIMEOUT = 3600
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class RunResult:
    """The executed notebook and its HTML; ``failure`` is the one-line reason it stopped (None
    when every cell ran)."""

    notebook: Path
    html: Path
    seconds: float
    cells: int
    failure: str | None = None


def register(subcommands: Any) -> None:
    """Add ``run`` to the ``fabric-livy`` parser."""
    parser = subcommands.add_parser(
        "run", help="Execute a notebook headless with parameters (CI, schedulers).",
        description="Execute the notebook top to bottom through a kernel of this Python; write the "
        "executed notebook and its HTML into --out; exit 1 at the first failing cell.")
    parser.add_argument("notebook", metavar="NOTEBOOK", help="The .ipynb file.")
    parser.add_argument("--param", metavar="NAME=VALUE", action="append", default=[],
                        help="A value for the cell tagged 'parameters'; repeatable.")
    parser.add_argument("--out", default="out", metavar="DIR",
                        help="Folder for the executed notebook and HTML (default: out).")
    parser.add_argument("--kernel", metavar="NAME",
                        help="An installed Jupyter kernel to use instead of the notebook's own.")
    parser.add_argument("--timeout", type=float, default=DEFAULT_CELL_TIMEOUT, metavar="S",
                        help=f"Seconds one cell may take (default {DEFAULT_CELL_TIMEOUT}).")
    parser.set_defaults(handler=_run_command)


def run_notebook(path: str | Path, out_dir: str | Path = "out", *, params: Sequence[str] = (),
                 kernel: str | None = None, timeout: float = DEFAULT_CELL_TIMEOUT) -> RunResult:
    """Execute the notebook with ``params`` (``NAME=VALUE``) injected; write ``.ipynb`` and
    ``.html`` into ``out_dir``. Raises ConfigurationError before anything runs for a notebook
    that cannot be read or a parameter it does not take."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from fabric_livy_magics.errors import ConfigurationError
    from fabric_livy_magics.livy.export import (
        find_parameters,
        inject_parameters,
        parse_values,
        read_notebook,
    )

    source = Path(path).expanduser()
    if not (0 < timeout < float("inf")):
        raise ConfigurationError(f"--timeout takes a finite number of seconds > 0; got {timeout:g}.")
    raw = read_notebook(source)
    cell = find_parameters(raw)
    injected = inject_parameters(raw, parse_values(params, cell, notebook=source.name), cell)
    nb = nbformat.reads(json.dumps(injected.notebook), as_version=4)  # joins split sources
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)

    current: dict[str, int] = {}

    def on_cell_execute(cell: Any, cell_index: int) -> None:
        current["index"] = cell_index

    started = time.monotonic()
    failure = None
    with _kernel_manager(raw, kernel) as km:
        client = NotebookClient(nb, km=km, timeout=max(1, round(timeout)), on_cell_execute=on_cell_execute,
                                resources={"metadata": {"path": str(source.parent.resolve())}})
        try:
            client.execute(cleanup_kc=True)
        except CellExecutionError as exc:
            failure = f"{_name(nb, injected.numbers, current)} failed: {_one_line(exc.ename, exc.evalue)}"
        except CellTimeoutError:
            failure = f"{_name(nb, injected.numbers, current)} did not finish within {timeout:g} s"
        except DeadKernelError:
            failure = f"the kernel died while running {_name(nb, injected.numbers, current)}"
    executed = out / source.name
    nbformat.write(nb, executed)
    html = executed.with_suffix(".html")
    html.write_text(_html(nb), encoding="utf-8")
    return RunResult(executed, html, time.monotonic() - started, len(nb.cells), failure)


@contextmanager
def _kernel_manager(notebook: dict[str, Any], name: str | None) -> Iterator[Any]:
    """A manager for ``name`` (installed), else for the notebook's kind of kernel from this
    Python, through a kernel spec that lives only as long as the run."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    from fabric_livy_magics.livy.export import is_remote_by_default
    from fabric_livy_magics.notebook.kernelspec import kernel_spec

    if name:
        yield AsyncKernelManager(kernel_name=name)
        return
    if is_remote_by_default(notebook):
        spec = kernel_spec()
    else:
        spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3", "language": "python"}
    with tempfile.TemporaryDirectory(prefix="fabric-livy-run-") as folder:
        Path(folder, "fabric-livy-run").mkdir()
        Path(folder, "fabric-livy-run", "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        yield AsyncKernelManager(kernel_name="fabric-livy-run",
                                 kernel_spec_manager=KernelSpecManager(kernel_dirs=[folder]))


def _name(nb: Any, numbers: Sequence[int | None], current: dict[str, int]) -> str:
    """How a person finds the cell: its number in their notebook (and its id, if it has one)."""
    index = current.get("index")
    if index is None:
        return "the kernel start"
    number = numbers[index] if index < len(numbers) else None
    if number is None:
        return "the injected parameters cell"
    cell_id = nb.cells[index].get("id")
    return f"cell {number}" + (f" (id {cell_id})" if cell_id else "")


def _one_line(ename: str, evalue: str) -> str:
    text = _ANSI.sub("", f"{ename}: {evalue}".strip())
    first = text.splitlines()[0] if text else "an error"
    return first if len(first) <= 300 else first[:297] + "..."


def _html(nb: Any) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    return body


def _run_command(args: argparse.Namespace) -> int:
    result = run_notebook(args.notebook, args.out, params=args.param, kernel=args.kernel,
                          timeout=args.timeout)
    if result.failure:
        print(f"fabric-livy run: {result.failure}. Executed notebook: {result.notebook}, "
              f"HTML: {result.html}", file=sys.stderr)
        return 1
    print(f"Executed {result.cells} cells in {result.seconds:.1f} s")
    print(f"Notebook: {result.notebook}")
    print(f"HTML:     {result.html}")
    return 0
