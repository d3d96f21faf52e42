"""``%livy export`` in a real IPython kernel (jupyter_client): the notebook the frontend names
(Jupyter Server's ``JPY_SESSION_NAME``, VS Code's ``__vsc_ipynb_file__``) or ``--notebook`` gives
the same script as ``fabric-livy export``; ``--strict`` refuses in one line and writes nothing.
The export reads files only: no Spark session is started here (the kernel-history export runs
in the project kernel's live tests, ``tests/test_kernel_live.py``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import CHECKSUM_NOTEBOOK
from jupyter_client.manager import start_new_kernel

from fabric_livy_magics.cli.export import export_file
from tests.kernel_cells import execute




@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """A python3 kernel started as Jupyter Server starts one for ``checksum.ipynb``: the variable
    names the notebook (relative to the server root), the working directory is its folder."""
    workdir = tmp_path_factory.mktemp("export-magic")
    notebook = workdir / "nightly.ipynb"
    notebook.write_text(CHECKSUM_NOTEBOOK.read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FABRIC_", "AZURE_", "JPY_"))}
    env["JPY_SESSION_NAME"] = "work/notebooks/nightly.ipynb"
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=120, env=env, cwd=str(workdir))
    try:
        assert execute(client, "%load_ext fabric_livy_magics")["status"] == "ok"
        yield client, workdir
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_the_notebook_jupyter_names_exports_as_the_command_line_does(kernel: tuple[Any, Path]) -> None:
    client, workdir = kernel
    done = execute(client, "%livy export -o job.py")
    assert done["status"] == "ok", done
    script = (workdir / "job.py").read_text()
    assert script == export_file(workdir / "nightly.ipynb").script
    assert "as last saved" in done["text"] and "Wrote" in done["text"] and "spark-submit" in done["text"]
    compile(script, "job.py", "exec")


def test_vs_code_names_the_notebook_in_a_variable(kernel: tuple[Any, Path], tmp_path: Path) -> None:
    client, _ = kernel
    other = tmp_path / "other.ipynb"
    other.write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3"}},
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                   "source": "%%livy\nprint('from vs code')"}]}))
    try:
        done = execute(client, f"__vsc_ipynb_file__ = {str(other)!r}\n%livy export")
    finally:
        execute(client, "del __vsc_ipynb_file__")
    assert done["status"] == "ok", done
    assert "print('from vs code')" in done["text"] and "Exported 1 cell(s) of other.ipynb" in done["text"]


def test_strict_refuses_in_one_line_and_writes_nothing(kernel: tuple[Any, Path], tmp_path: Path) -> None:
    client, _ = kernel
    sends = tmp_path / "sends.ipynb"
    sends.write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3"}},
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                   "source": "%livy send frame"}]}))
    target = tmp_path / "never.py"
    done = execute(client, f"%livy export --notebook {sends} --strict -o {target}")
    assert done["status"] == "error" and not target.exists()
    # IPython shows a UsageError as one stderr line, with no traceback
    assert not done["errors"] and done["text"].startswith("UsageError: ")
    assert done["text"].strip().count("\n") == 0, done["text"]
    assert "cannot run as a job" in done["text"] and "cell 1" in done["text"].lower()


def test_bad_lines_are_usage_errors(kernel: tuple[Any, Path]) -> None:
    client, _ = kernel
    for line, expected in [("%livy export --notebook 'unclosed", "check the quotes"),
                           ("%livy export --notebook /nowhere/x.ipynb", "does not exist"),
                           ("%livy export --frobnicate", "unrecognized arguments")]:
        done = execute(client, line)
        assert done["status"] == "error", line
        assert not done["errors"] and done["text"].startswith("UsageError: "), done
        assert expected in done["text"], done["text"]
