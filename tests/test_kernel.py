"""Where the wrapper kernel sends a cell, and its spec as Jupyter sees it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from fabric_livy_magics.notebook.kernel import CellTarget, classify_cell, route_cell
from fabric_livy_magics.notebook.kernelspec import install_kernel, kernel_spec, uninstall_kernel

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("code", "target"),
    [
        ("df = spark.range(3)\ndf.show()", CellTarget.REMOTE),
        ("# set up\nx = 1", CellTarget.REMOTE),
        ("%%local\nimport pandas", CellTarget.LOCAL),
        ("\n  %%local  \nx = 1", CellTarget.LOCAL),
        ("%%livy -o df\ndf = spark.range(3)", CellTarget.AS_WRITTEN),
        ("%%livy_sql\nSELECT 1", CellTarget.AS_WRITTEN),
        ("%livy info", CellTarget.AS_WRITTEN),
        ("%livy info\n!ls", CellTarget.AS_WRITTEN),
        ("%time x = 1\ny = 2", CellTarget.REMOTE),
        ("", CellTarget.AS_WRITTEN),
        ("# only a comment", CellTarget.AS_WRITTEN),
    ],
)
def test_classify_cell(code, target):
    assert classify_cell(code) is target


def test_route_cell_rewrites_remote_and_local_cells():
    assert route_cell(["x = 1\n"]) == ["%%livy\n", "x = 1\n"]
    assert route_cell(["%%local\n", "x = 1\n"]) == ["x = 1\n"]
    assert route_cell(["%livy info\n"]) == ["%livy info\n"]


def test_top_level_kernel_json_matches_generated_spec():
    shipped = json.loads((ROOT / "kernel.json").read_text())
    generated = kernel_spec(python="python")
    assert shipped == generated


def test_install_kernel_writes_absolute_interpreter(tmp_path, monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager

    # A user install goes to JUPYTER_DATA_DIR: a temporary folder, so nothing real is touched.
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    where = install_kernel("fabric-livy-test", user=True)
    assert Path(where).is_relative_to(tmp_path)
    spec = json.loads((Path(where) / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable and Path(spec["argv"][0]).is_absolute()
    assert spec["display_name"] == "PySpark on Fabric (Livy)"
    assert "fabric-livy-test" in KernelSpecManager().find_kernel_specs()
    # The launcher shows the kernel's logo (Jupyter reads logo-32x32.png / logo-64x64.png).
    resources = KernelSpecManager().get_all_specs()["fabric-livy-test"]["resource_dir"]
    assert {"logo-32x32.png", "logo-64x64.png"} <= {p.name for p in Path(resources).iterdir()}
    assert (Path(where) / "logo-64x64.png").read_bytes().startswith(b"\x89PNG")
    assert uninstall_kernel("fabric-livy-test") is True
    assert uninstall_kernel("fabric-livy-test") is False
