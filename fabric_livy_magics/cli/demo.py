"""``fabric-livy demo``: execute the quickstart notebook against the embedded local server.

This is the product's main job on one machine: it starts the local Livy-compatible server (real
PySpark), runs ``notebooks/quickstart.ipynb`` top to bottom through a real Jupyter kernel, and writes
the executed notebook and an HTML rendering of it to an output folder. It fails (non-zero exit) if
any cell fails that is not meant to.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DemoResult", "run_demo", "register"]

_REPO_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@dataclass(frozen=True)
class DemoResult:
    """Where the executed notebook and its HTML went, and how long the run took."""

    notebook: Path
    html: Path
    seconds: float
    cells: int


def _find_notebook(name: str) -> Path:
    candidate = Path(name)
    if candidate.exists():
        return candidate
    bundled = _REPO_NOTEBOOKS / name
    if bundled.exists():
        return bundled
    raise FileNotFoundError(f"Notebook {name} not found (looked in . and {_REPO_NOTEBOOKS}).")


def run_demo(notebook: str = "quickstart.ipynb", out_dir: str | Path = "out", *,
             kernel_name: str = "python3", timeout: int = 600, master: str | None = None) -> DemoResult:
    """Start a local server, execute ``notebook`` against it, write ``.ipynb`` and ``.html``."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    from fabric_livy_magics.server.launcher import start_server

    source = _find_notebook(notebook)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    server = start_server(port=0, master=master)
    previous = os.environ.get("FABRIC_LIVY_URL")
    try:
        # The kernel inherits this: `%livy connect --local` and lazy connects use this server.
        os.environ["FABRIC_LIVY_URL"] = server.url
        nb = nbformat.read(source, as_version=4)
        with _kernel_manager(kernel_name) as manager:
            client = NotebookClient(nb, km=manager, timeout=timeout, kernel_name=kernel_name,
                                    resources={"metadata": {"path": str(source.parent)}})
            client.execute()
    finally:
        if previous is None:
            os.environ.pop("FABRIC_LIVY_URL", None)
        else:
            os.environ["FABRIC_LIVY_URL"] = previous
        server.stop()
    executed = out / source.name
    nbformat.write(nb, executed)
    html_body, _ = HTMLExporter().from_notebook_node(nb)
    html_path = executed.with_suffix(".html")
    html_path.write_text(html_body, encoding="utf-8")
    return DemoResult(executed, html_path, time.monotonic() - started, len(nb.cells))


@contextmanager
def _kernel_manager(kernel_name: str) -> Iterator[Any]:
    """The demo's kernel talks over local (IPC) sockets in a private folder where the system has
    them, so ipykernel has no "running over TCP without encryption" warning to print; elsewhere
    (Windows) over loopback TCP, as Jupyter does."""
    from jupyter_client.manager import KernelManager

    if os.name != "posix":
        yield KernelManager(kernel_name=kernel_name)
        return
    with tempfile.TemporaryDirectory(prefix="fabric-livy-demo-") as folder:
        yield KernelManager(kernel_name=kernel_name, transport="ipc", ip=str(Path(folder) / "kernel"))


def _demo_command(args: argparse.Namespace) -> int:
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    from fabric_livy_magics.server.launcher import ServerStartError

    try:
        result = run_demo(args.notebook, args.out, kernel_name=args.kernel, timeout=args.timeout,
                          master=args.master)
    except (CellExecutionError, CellTimeoutError) as exc:  # the message is the cell's traceback
        print(f"fabric-livy demo: a cell failed, so the notebook did not run through:\n{exc}",
              file=sys.stderr)
        return 1
    except (FileNotFoundError, ServerStartError) as exc:
        print(f"fabric-livy demo: {exc}", file=sys.stderr)
        return 1
    print(f"Executed {result.cells} cells in {result.seconds:.1f} s")
    print(f"Notebook: {result.notebook}")
    print(f"HTML:     {result.html}")
    return 0


def register(subcommands: Any) -> None:
    demo = subcommands.add_parser(
        "demo", help="Execute the quickstart notebook against the embedded local server.")
    demo.add_argument("notebook", nargs="?", default="quickstart.ipynb",
                      help="Notebook to execute (default: the bundled %(default)s).")
    demo.add_argument("--out", default="out", help="Folder for the executed notebook and HTML.")
    demo.add_argument("--kernel", default="python3", help="Jupyter kernel to run it with.")
    demo.add_argument("--timeout", type=int, default=600, help="Seconds allowed per cell.")
    demo.add_argument("--master", help="Spark master for the local server (default local[*]).")
    demo.set_defaults(handler=_demo_command)
