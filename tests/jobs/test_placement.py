"""Where ``batch submit NOTEBOOK.ipynb`` puts the exported script, and what it refuses before
anything is sent (exit 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import CHECKSUM_NOTEBOOK, LAKEHOUSE, WORKSPACE

from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint
from fabric_livy_magics.livy.export.placement import place_script, script_file_name

ROOT = Path(__file__).resolve().parents[2]


def test_file_names_follow_the_script_so_a_changed_notebook_never_overwrites_a_running_job() -> None:
    first, again, changed = (script_file_name("My Job (v2).ipynb", s) for s in ("a", "a", "b"))
    assert first == again != changed and first.startswith("My-Job-v2-") and first.endswith(".py")


def test_each_target_gets_the_script_where_it_can_read_it(tmp_path: Path) -> None:
    local = place_script("print(1)\n", "job-1.py", LivyEndpoint("http://127.0.0.1:8998"), cache_dir=tmp_path / "c")
    assert local.file == str((tmp_path / "c" / "job-1.py").resolve()) and local.target_lakehouse is None
    assert Path(local.file).read_text() == "print(1)\n"
    local_fabric = place_script("x = 1\n", "job-2.py",
                                FabricEndpoint(WORKSPACE, LAKEHOUSE, base_url="http://127.0.0.1:8998"),
                                cache_dir=tmp_path / "c")
    assert Path(local_fabric.file).is_file() and local_fabric.target_lakehouse == LAKEHOUSE
    remote = LivyEndpoint("https://livy.example.com:8998")
    shared = place_script("x = 2\n", "job-3.py", remote, upload_dir=str(tmp_path / "shared"))
    assert Path(shared.file).read_text() == "x = 2\n" and not list((tmp_path / "shared").glob(".*tmp"))
    given = place_script("x = 3\n", "job-4.py", remote, script_url="hdfs:///jobs/job.py")
    assert given.file == "hdfs:///jobs/job.py"
    with pytest.raises(ConfigurationError, match="cannot read a file on this machine. Give --upload-dir"):
        place_script("x = 4\n", "job-5.py", remote)
    with pytest.raises(ConfigurationError, match="needs a sign-in"):
        place_script("x = 5\n", "job-6.py", FabricEndpoint(WORKSPACE, LAKEHOUSE))


def test_batch_submit_refuses_a_notebook_before_sending_anything(fabric_livy: Any, tmp_path: Path) -> None:
    remote = "https://livy.example.com:8998"  # never contacted: each refusal comes first
    nowhere = fabric_livy("batch", "submit", str(CHECKSUM_NOTEBOOK), "--url", remote)
    assert nowhere.code == 2 and "--upload-dir" in nowhere.err.strip().splitlines()[-1]
    strict = fabric_livy("batch", "submit", str(ROOT / "notebooks" / "sql-and-pandas.ipynb"),
                         "--url", remote, "--strict")
    assert strict.code == 2 and "cell 5: %livy send customers" in strict.err
    unknown = fabric_livy("batch", "submit", str(CHECKSUM_NOTEBOOK), "--url", remote, "--param", "colour=red",
                          "--upload-dir", str(tmp_path))
    assert unknown.code == 2 and "has no parameter 'colour' (cell 3 sets: rows, factor, label)" in unknown.err
    assert not list(tmp_path.glob("*.py"))
