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


def test_every_environment_variable_read_is_in_the_settings_registry() -> None:
    """``%livy config`` lists the registry: a variable read but not registered would be invisible."""
    import re

    from fabric_livy_magics.livy.settings import SETTINGS

    registered = {setting.name for setting in SETTINGS}
    read: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if "server" in path.relative_to(PACKAGE).parts[:1]:
            continue  # the server's own child-process variables are not settings of a person's
        source = path.read_text(encoding="utf-8")
        for name in re.findall(r"[\"']((?:FABRIC|AZURE)_[A-Z_]+|LIVY_URL)[\"']", source):
            read.add(name)
    constants = {name for name in read if any(
        re.search(rf"^{name}\s*[:=]", p.read_text(encoding="utf-8"), re.MULTILINE) for p in PACKAGE.rglob("*.py"))}
    assert read - constants <= registered, sorted(read - constants - registered)
    assert {"FABRIC_LIVY_LOCAL_MASTER", "FABRIC_LIVY_CONFIG", "FABRIC_LIVY_SCOPES", "AZURE_AUTHORITY_HOST"} <= registered
