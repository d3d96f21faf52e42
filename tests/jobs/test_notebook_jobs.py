"""From notebook to job, for real: ``checksum.ipynb`` run as a notebook (its cells in a session of
the shared local server), its export under ``spark-submit``, and ``batch submit checksum.ipynb``
on the local server in both URL shapes print the same checksum — with parameters that override
the defaults.

Spark processes: one session (the notebook), two batches, one ``spark-submit`` (marked slow).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import CHECKSUM_NOTEBOOK, LAKEHOUSE, WORKSPACE, checksum_lines

from fabric_livy_magics.cli.run import RunResult, run_notebook

pytestmark = pytest.mark.timeout(300)

PARAMS = ("rows=200", "label=nb")
#: What the notebook prints with PARAMS (sum of id * factor for id < rows)...
EXPECTED = f"CHECKSUM nb 200 {3 * sum(range(200))}"
#: ...and with its defaults: the parameters must change it.
DEFAULT = f"CHECKSUM base 100 {3 * sum(range(100))}"


@pytest.fixture(scope="module")
def notebook_run(livy_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunResult]:
    """``fabric-livy run checksum.ipynb --param rows=200 --param label=nb``, once for the module."""
    out = tmp_path_factory.mktemp("checksum-run")
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith(("FABRIC_", "AZURE_")) or name == "LIVY_URL":
                env.delenv(name)
        env.setenv("FABRIC_LIVY_URL", livy_server.url)
        yield run_notebook(CHECKSUM_NOTEBOOK, out, params=PARAMS, timeout=240)


def printed_by_notebook(result: RunResult) -> list[str]:
    import nbformat

    nb = nbformat.read(result.notebook, as_version=4)
    return checksum_lines("".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])))


def test_the_notebook_runs_headless_with_its_parameters(notebook_run: RunResult) -> None:
    assert notebook_run.failure is None
    assert printed_by_notebook(notebook_run) == [EXPECTED] and EXPECTED != DEFAULT
    assert notebook_run.html.is_file() and EXPECTED in notebook_run.html.read_text()


@pytest.mark.slow
def test_exported_script_under_spark_submit_prints_the_same_checksum(
        notebook_run: RunResult, fabric_livy: Any, tmp_path: Path) -> None:
    script = tmp_path / "checksum.py"
    exported = fabric_livy("export", str(CHECKSUM_NOTEBOOK), "-o", str(script), "--strict")
    assert exported.code == 0, exported.err
    spark_submit = Path(sys.executable).with_name("spark-submit")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    done = subprocess.run(
        [str(spark_submit), "--master", "local[1]", "--conf", "spark.ui.enabled=false",
         str(script), "--rows", "200", "--label=nb"],
        env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert checksum_lines(done.stdout) == printed_by_notebook(notebook_run) == [EXPECTED]


@pytest.mark.parametrize("shape", ["livy", "fabric"])
def test_batch_submit_notebook_waits_and_prints_the_same_checksum(
        shape: str, notebook_run: RunResult, livy_server: Any, fabric_livy: Any, tmp_path: Path) -> None:
    url = livy_server.url if shape == "livy" else livy_server.fabric_url(WORKSPACE, LAKEHOUSE)
    done = fabric_livy("batch", "submit", str(CHECKSUM_NOTEBOOK), "--param", PARAMS[0],
                       "--param", PARAMS[1], "--wait", "-n", "400", "--url", url)
    assert done.code == 0, done.err
    assert checksum_lines(done.out) == printed_by_notebook(notebook_run) == [EXPECTED]
    cache = tmp_path / "cache" / "fabric-livy-magics" / "jobs"
    [script] = cache.glob("checksum-*.py")  # the local server reads it from this machine's disk
    assert f"the job script is {script}" in done.err and "succeeded after" in done.err
    if shape == "fabric":
        from fabric_livy_magics.livy.batches import BatchClient
        from fabric_livy_magics.livy.client import LivyClient

        batch_id = done.err.split("Submitted batch ")[1].split(".")[0]
        with LivyClient(url) as client:
            batch = BatchClient(client).get_batch(batch_id)
        request = batch.livy_info["jobCreationRequest"]
        assert request["conf"]["spark.targetLakehouse"] == LAKEHOUSE
        assert request["args"] == ["--rows=200", "--label=nb"] and batch.name == "checksum"
