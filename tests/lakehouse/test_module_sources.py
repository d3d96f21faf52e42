"""What ``send-module`` collects locally before anything is sent: only .py sources, size-checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy import lakehouse


def test_a_package_travels_as_its_py_files_only(tmp_path: Path) -> None:
    package = tmp_path / "tools"
    (package / "inner").mkdir(parents=True)
    (package / "__pycache__").mkdir()
    (package / "__init__.py").write_text("")
    (package / "inner" / "__init__.py").write_text("X = 1\n")
    (package / "inner" / "deep.py").write_text("Y = 2\n")
    (package / "data.csv").write_text("a,b\n")
    (package / "__pycache__" / "stale.py").write_text("broken(\n")
    name, is_package, files = lakehouse.module_sources(str(package))
    assert (name, is_package) == ("tools", True)
    assert sorted(files) == ["__init__.py", "inner/__init__.py", "inner/deep.py"]


def test_an_importable_name_is_found_where_python_finds_it() -> None:
    name, is_package, files = lakehouse.module_sources("fabric_livy_magics.transfer")
    assert name == "transfer" and is_package and "_remote.py" in files


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: (p / "plain").mkdir(), "not a package"),
    (lambda p: (p / "big.py").write_text("x = 1\n" * 400_000), "too large to send"),
    (lambda p: (p / "latin.py").write_bytes(b"s = '\xe9'\n"), "Cannot read"),
])
def test_unusable_sources_are_refused_in_one_line(tmp_path: Path, make: object, message: str) -> None:
    make(tmp_path)  # type: ignore[operator]
    target = next(tmp_path.iterdir())
    with pytest.raises(ConfigurationError, match=message) as info:
        lakehouse.module_sources(str(target))
    assert "\n" not in str(info.value)
