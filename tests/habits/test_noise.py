"""What a person should not see: ``%livy config`` without an empty header or ``None`` timeout,
``%livy sessions`` without None names or a 0, 1, 2 index, printed output capped with a way to get
all of it, and no TCP warning from ``fabric-livy demo``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.utils.capture import capture_output

pytestmark = pytest.mark.timeout(300)


def test_config_shows_timeout_zero_and_no_empty_environment_header(shell: Any, notebook: Any,
                                                                   monkeypatch: Any) -> None:
    # XDG_CACHE_HOME is set by the suite (a cache dir of its own); here nothing may be set.
    for name in ("FABRIC_LIVY_STATEMENT_TIMEOUT", "FABRIC_LIVY_URL", "LIVY_URL", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    with capture_output() as cap:
        shell.run_line_magic("livy", "config")
    lines = cap.stdout.strip().splitlines()
    assert any(line.split() == ["statement_timeout", "0", "(no", "limit)"] for line in lines)
    assert "None" not in next(line for line in lines if "statement_timeout" in line)
    assert lines[-1] == "Environment: none of the FABRIC_*/AZURE_*/LIVY_* settings is set."
    monkeypatch.setenv("FABRIC_LIVY_URL", "http://127.0.0.1:1")
    with capture_output() as cap:
        shell.run_line_magic("livy", "config")
    tail = cap.stdout.strip().splitlines()
    assert tail[-2] == "Environment:" and tail[-1].split() == ["FABRIC_LIVY_URL", "http://127.0.0.1:1"]


def test_sessions_table_has_no_none_and_the_id_as_index(shell: Any, notebook: Any) -> None:
    shell.run_cell_magic("livy", "-q", "x = 1")  # a session exists; it has no name
    with capture_output() as cap:
        shell.run_line_magic("livy", "sessions")
    text = cap.outputs[0].data["text/plain"]
    header = text.splitlines()[0].split()
    assert "None" not in text and header[0] == "name"  # the id is the row label, not column 0
    assert str(notebook.session.session_id) in text


def test_printed_output_is_capped_with_a_way_to_get_all(shell: Any, notebook: Any, tmp_path: Path) -> None:
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", "for i in range(20000):\n    print('line', i)")
    shown = cap.stdout.splitlines()
    assert shown[4999] == "line 4999" and len(shown) == 5001
    assert shown[-1].startswith("[output cut: showing 5,000 of 20,000 lines") and "%livy output" in shown[-1]
    with capture_output() as cap:
        shell.run_line_magic("livy", "output")
    assert cap.stdout.splitlines()[-1] == "line 19999" and len(cap.stdout.splitlines()) == 20000
    target = tmp_path / "all.txt"
    with capture_output() as cap:
        shell.run_line_magic("livy", f"output --file {target}")
    assert "Wrote 20,000 lines" in cap.stdout and target.read_text().count("\n") == 20000


def test_demo_prints_no_unencrypted_tcp_warning(tmp_path: Path) -> None:
    """A one-cell notebook (no Spark session) is enough: the warning came from the kernel's start."""
    notebook = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('tiny ran')")]), notebook)
    done = subprocess.run([sys.executable, "-m", "fabric_livy_magics", "demo", str(notebook), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Executed 1 cells" in done.stdout
    assert "without encryption" not in done.stderr + done.stdout
    assert "tiny ran" in (tmp_path / "out" / "tiny.ipynb").read_text()
    assert not list(tmp_path.glob("kernel-*"))  # no IPC socket files left in the working folder
