"""The project's kernel in JupyterLab, as a Fabric user types: ``%%configure``, ``%%sql`` and
``display(df)`` work, and the progress line counts Spark jobs, stages and tasks while a
multi-stage job runs in a Fabric-shaped connection (the local server's monitoring routes over
real Spark). Rendered in headless Chromium."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from fabric_livy_magics.notebook.kernelspec import install_kernel, uninstall_kernel

pytestmark = pytest.mark.timeout(600)

KERNEL_NAME = "fabric-livy-lab-tests"
DISPLAY_NAME = "PySpark on Fabric (lab tests)"
WS = "2f3e4d5c-6b7a-4899-8a7b-6c5d4e3f2a1b"
LH = "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c2d"
#: Two jobs, three stages, 1 s tasks on 2 cores: about 8 s of visible work (as tests/monitoring).
MULTI_STAGE = """\
import time
def slow(x):
    time.sleep(1)
    return x
pairs = sc.parallelize(range(8), 8).map(lambda x: (slow(x) % 3, 1))
print(pairs.count(), sorted(pairs.reduceByKey(lambda a, b: a + b, 4).map(slow).collect()))"""
WORK = re.compile(r"jobs (\d+)/(\d+) · stages (\d+)/(\d+) · tasks (\d+)/(\d+)")


@pytest.fixture(scope="module")
def project_kernel() -> Iterator[str]:
    install_kernel(KERNEL_NAME, prefix=sys.prefix, display_name=DISPLAY_NAME)
    try:
        yield KERNEL_NAME
    finally:
        uninstall_kernel(KERNEL_NAME)


def _page(browser: Any) -> Any:
    return browser.new_page(viewport={"width": 1400, "height": 1600})


def test_configure_sql_display_and_spark_progress_in_the_projects_kernel(
        jupyterlab: Any, browser: Any, livy_server: Any, screenshots: Path, project_kernel: str) -> None:
    fabric = livy_server.fabric_url(WS, LH)
    cells = [
        f"%livy connect --connection-string {fabric}/sessions --lazy",
        '%%configure\n{"name": "lab-configured", "conf": {"spark.sql.shuffle.partitions": "6"}}',
        "%%sql\nSELECT id, id * 2 AS twice FROM range(5)",
        "df = spark.range(3).selectExpr('id', \"concat('row-', id) AS label\")\ndisplay(df)",
        "print('partitions', spark.conf.get('spark.sql.shuffle.partitions'))",
        MULTI_STAGE,
    ]
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    nb.metadata["kernelspec"] = {"name": project_kernel, "display_name": DISPLAY_NAME, "language": "python"}
    nbformat.write(nb, jupyterlab.root / "habits.ipynb")

    page = _page(browser)
    try:
        page.goto(jupyterlab.notebook_url("habits.ipynb"), wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.get_by_text(f"{DISPLAY_NAME} | Idle").wait_for(timeout=90_000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()

        outputs = page.locator(".jp-Cell .jp-OutputArea")
        outputs.nth(1).get_by_text("Session settings set:").wait_for(timeout=60_000)
        sql_table = outputs.nth(2).locator("table.dataframe")
        sql_table.wait_for(timeout=240_000)
        assert "twice" in sql_table.locator("th").all_inner_texts()
        assert "8" in sql_table.inner_text()
        shown = outputs.nth(3).locator("table.dataframe")
        shown.wait_for(timeout=120_000)
        assert "row-2" in shown.inner_text()
        outputs.nth(4).get_by_text("partitions 6").wait_for(timeout=120_000)

        # The multi-stage job: read the progress line until the result is printed.
        progress = outputs.nth(5).locator(".fabric-livy-progress")
        seen: list[tuple[int, ...]] = []
        captured = False
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if "8 [(0, 3), (1, 3), (2, 2)]" in outputs.nth(5).inner_text():
                break
            for text in progress.all_inner_texts():
                for match in WORK.findall(text):
                    values = tuple(map(int, match))
                    if not seen or seen[-1] != values:
                        seen.append(values)
                    if not captured and values[4] > 0:  # some tasks done: a line mid-job
                        page.screenshot(path=str(screenshots / "jupyterlab-kernel-spark-progress.png"),
                                        full_page=True)
                        captured = True
            page.wait_for_timeout(200)
        outputs.nth(5).get_by_text("8 [(0, 3), (1, 3), (2, 2)]").wait_for(timeout=30_000)
        assert len(seen) >= 2, seen  # the line moved while the job ran
        tasks_done = [values[4] for values in seen]
        assert tasks_done == sorted(tasks_done)  # forward only
        assert all(done <= total for values in seen for done, total in zip(values[::2], values[1::2]))
        assert progress.count() == 0 or not progress.first.inner_text().strip()  # cleared after
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        assert errors.count() == 0, errors.all_inner_texts()
        page.screenshot(path=str(screenshots / "jupyterlab-kernel-habits.png"), full_page=True)
    except Exception:
        page.screenshot(path=str(screenshots / "jupyterlab-kernel-habits-failure.png"), full_page=True)
        raise
    finally:
        page.close()
