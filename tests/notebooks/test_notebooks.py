"""The example notebooks run top to bottom through real kernels against the local server.

Each runs twice: in a plain Python kernel with ``%load_ext fabric_livy_magics``, and in this
project's kernel (every cell remote unless ``%%local``), both through nbclient.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from fabric_livy_magics.notebook.kernelspec import install_kernel, uninstall_kernel

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
KERNELS = ["python3", "fabric-livy-tests"]


@pytest.fixture(scope="module")
def project_kernel() -> str:
    """This project's kernel, installed into the test environment's prefix and removed after."""
    install_kernel("fabric-livy-tests", prefix=sys.prefix)
    yield "fabric-livy-tests"
    uninstall_kernel("fabric-livy-tests")


def _execute(name: str, kernel: str, env: dict[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    os.environ.update(env)  # the kernel inherits the environment; restored by the autouse fixture
    client = NotebookClient(nb, timeout=300, kernel_name=kernel,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    return nb


def _outputs(cell: nbformat.NotebookNode) -> list[dict]:
    return list(cell.get("outputs", []))


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in _outputs(cell):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] in ("execute_result", "display_data"):
            parts.append(str(output["data"].get("text/plain", "")))
            parts.append(str(output["data"].get("text/html", "")))
        elif output["output_type"] == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
    return "".join(parts)


def _cell_with(nb: nbformat.NotebookNode, snippet: str) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.cell_type == "code" and snippet in cell.source:
            return cell
    raise AssertionError(f"no code cell contains {snippet!r}")


@pytest.mark.parametrize("kernel", KERNELS)
def test_quickstart_runs_through(kernel, request, livy_server):
    if kernel != "python3":
        request.getfixturevalue("project_kernel")
    nb = _execute("quickstart.ipynb", kernel, {"FABRIC_LIVY_URL": livy_server.url})

    assert "6 rows on Spark" in _text(_cell_with(nb, "createOrReplaceTempView"))
    sql = _text(_cell_with(nb, "%%livy_sql"))
    assert "<table" in sql and "north" in sql and "revenue" in sql
    assert "datetime64" in _text(_cell_with(nb, "monthly.dtypes"))
    plot = _cell_with(nb, "chart.plot")
    assert any("image/png" in out.get("data", {}) for out in _outputs(plot))
    assert not any(out["output_type"] == "stream" and "Warning" in out["text"] for out in _outputs(plot))
    failing = _cell_with(nb, "no_such_column")
    errors = [out for out in _outputs(failing) if out["output_type"] == "error"]
    assert errors and "no_such_column" in errors[0]["evalue"]


@pytest.mark.parametrize("kernel", KERNELS)
def test_sql_and_pandas_round_trip(kernel, request, livy_server):
    if kernel != "python3":
        request.getfixturevalue("project_kernel")
    nb = _execute("sql-and-pandas.ipynb", kernel, {"FABRIC_LIVY_URL": livy_server.url})

    schema = _text(_cell_with(nb, "printSchema"))
    assert "since: timestamp" in schema and "customer_id: long" in schema
    totals = _text(_cell_with(nb, "%%livy_sql -o totals"))
    assert "Margaret" in totals and "<table" in totals
    dtypes_and_missing = _text(_cell_with(nb, 'totals["name"] == "Linus"'))
    assert "orders" in dtypes_and_missing and "[None]" in dtypes_and_missing
    assert "US" in _text(_cell_with(nb, 'groupby("country")'))
    assert "customers" in _text(_cell_with(nb, "%livy tables"))
    assert "Wrote 4 rows of customers" in _text(_cell_with(nb, "%livy write customers"))
    assert "4 rows." in _text(_cell_with(nb, "%livy describe crm_customers"))
    assert "datetime64[us, UTC]" in _text(_cell_with(nb, "us_customers.dtypes"))
    spenders = _text(_cell_with(nb, "%%livy_sql -o big_spenders"))
    assert "Grace" in spenders and "Margaret" not in spenders


def test_fabric_notebook_against_the_local_fabric_shape(livy_server):
    connection_string = livy_server.fabric_url(str(uuid.uuid4()), str(uuid.uuid4())) + "/sessions"
    nb = _execute("fabric.ipynb", "python3", {
        "FABRIC_LIVY_CONNECTION_STRING": connection_string,
        "FABRIC_LIVY_AUTH_METHOD": "none",  # the local server needs no sign-in
    })
    assert "1000" in _text(_cell_with(nb, "trips.count()"))
    assert "avg_fare" in _text(_cell_with(nb, "by_hour.head()"))
    squares = _text(_cell_with(nb, "shared.show()"))
    assert "square" in squares and "16" in squares
    login = _cell_with(nb, "%livy login")
    assert any("application/vnd.jupyter.widget-view+json" in out.get("data", {}) for out in _outputs(login))


def test_demo_command_writes_the_executed_notebook_and_html(tmp_path):
    """The README's main job, as a person runs it: its own local server, exit status 0."""
    import subprocess

    done = subprocess.run([sys.executable, "-m", "fabric_livy_magics", "demo", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Executed 15 cells" in done.stdout
    executed = nbformat.read(tmp_path / "quickstart.ipynb", as_version=4)
    assert "6 rows on Spark" in _text(_cell_with(executed, "createOrReplaceTempView"))
    html = (tmp_path / "quickstart.html").read_text()
    assert "6 rows on Spark" in html and "no_such_column" in html
