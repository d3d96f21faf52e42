"""``%livy export [-o FILE] [--strict] [--notebook PATH]``: this notebook's remote cells as one
PySpark job script (the translation is ``livy/export/``, the same as ``fabric-livy export``).

Which notebook: ``--notebook``, else the file the frontend names (VS Code sets
``__vsc_ipynb_file__``, Jupyter Server sets ``JPY_SESSION_NAME``), else the cells this kernel ran,
in the order they ran. A file is read as last saved, which the output says.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from fabric_livy_magics.notebook.commands.parsing import parse, set_prog
from fabric_livy_magics.notebook.commands.state import NotebookState

__all__ = ["PARSERS", "export", "history_notebook", "notebook_path"]

_THIS_MAGIC = "%livy export"


@set_prog("%livy export")
@magic_arguments()
@argument("-o", "--output", metavar="FILE", help="Write the script here (default: show it).")
@argument("--strict", action="store_true", help="Fail, writing nothing, when a cell cannot be translated.")
@argument("--notebook", metavar="PATH", help="Export this .ipynb instead of the current notebook.")
def _export(line: str) -> None:
    """Turn this notebook's remote cells into one PySpark script for spark-submit or a batch job.

    Example: ``%livy export -o nightly.py`` then ``fabric-livy batch submit nightly.py --wait``."""


PARSERS = {"export": _export}


def notebook_path(shell: Any) -> Path | None:
    """The current notebook's file where the frontend tells it, else None."""
    named = shell.user_ns.get("__vsc_ipynb_file__")
    candidates = [named] if isinstance(named, str) else []
    session_name = os.environ.get("JPY_SESSION_NAME", "")
    if session_name.endswith(".ipynb"):
        # An absolute path in recent Jupyter Server, else relative to the server's root; the
        # kernel's working directory is the notebook's folder, so its file name is tried there too.
        candidates += [session_name, Path(session_name).name]
    for candidate in candidates:
        path = Path(candidate).expanduser()
        if path.is_file():
            return path.resolve()
    return None


def history_notebook(shell: Any, *, remote_by_default: bool) -> dict[str, Any]:
    """The cells this kernel ran, as an nbformat 4 notebook (without the export cell itself)."""
    inputs = [str(text) for text in shell.history_manager.input_hist_raw[1:]]
    if inputs and _THIS_MAGIC in inputs[-1]:
        inputs.pop()
    cells = [{"cell_type": "code", "metadata": {}, "source": text, "outputs": [], "execution_count": None}
             for text in inputs if text.strip()]
    kernelspec = {"name": "fabric-livy", "display_name": "fabric-livy"} if remote_by_default else {
        "name": "python3", "display_name": "Python 3"}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": kernelspec}, "cells": cells}


def _in_project_kernel(shell: Any) -> bool:
    # By the kernel's implementation name: importing the kernel module here would be a cycle.
    return getattr(getattr(shell, "kernel", None), "implementation", None) == "fabric_livy_magics"


def export(state: NotebookState, line: str) -> None:
    from fabric_livy_magics.livy.export import export_notebook, read_notebook

    args = parse(_export, line)
    path = Path(args.notebook).expanduser() if args.notebook else notebook_path(state.shell)
    if path is not None:
        notebook, source, origin = read_notebook(path), path.name, f"{path} as last saved"
    else:
        notebook = history_notebook(state.shell, remote_by_default=_in_project_kernel(state.shell))
        if not notebook["cells"]:
            raise UsageError("Nothing to export: this kernel has run no cells yet, and the frontend does not "
                             "name the notebook's file. Use `%livy export --notebook PATH`.")
        source = "this kernel's history"
        origin = f"the {len(notebook['cells'])} cell(s) this kernel ran, in the order they ran"
    result = export_notebook(notebook, source=source)
    if args.strict:
        result.raise_if_untranslated()  # ConfigurationError: one line through dispatch
    print(f"{result.summary()} (from {origin})")
    for note in result.untranslated:
        print(f"NOT translated: {note}")
    if not args.output:
        print()
        print(result.script, end="")
        return
    target = Path(args.output).expanduser()
    try:
        target.write_text(result.script, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot write {target}: {exc.strerror}. Choose another -o path.") from None
    print(f"Wrote {target}: run it with `spark-submit {target}` or `fabric-livy batch submit {target} --wait`.")
