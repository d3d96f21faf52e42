"""The package's shape holds: layered imports without cycles, and modules small enough to read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import fabric_livy_magics

PACKAGE = Path(fabric_livy_magics.__file__).parent
ROOT = PACKAGE.parent
#: Split a module by job once it passes this many lines (STYLE.md: ~400).
MAX_MODULE_LINES = 420


def test_import_contracts_hold() -> None:
    # The contracts (layers, IPython only in notebook/, server apart, no cycles) are in pyproject.toml.
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_module_is_too_long_to_read() -> None:
    sizes = {path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
             for path in PACKAGE.rglob("*.py")}
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert not too_long, f"split these by job: {too_long}"
