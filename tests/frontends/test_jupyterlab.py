"""What a person sees in JupyterLab: a %%livy table, the sign-in form and the progress line,
rendered in Chromium."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import TimeoutError as PlaywrightTimeout


def _write_notebook(path: Path, server_url: str, *cells: str) -> None:
    """A notebook that loads the extension, connects to ``server_url``, then runs ``cells``."""
    sources = ["%load_ext fabric_livy_magics", f"%livy connect --url {server_url}", *cells]
    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@contextlib.contextmanager
def _page(browser: Any, screenshots: Path, name: str, height: int) -> Iterator[Any]:
    """A browser page that leaves ``<name>-failure.png`` behind when the test fails."""
    page = browser.new_page(viewport={"width": 1400, "height": height})
    try:
        yield page
    except Exception:
        page.screenshot(path=str(screenshots / f"{name}-failure.png"), full_page=True)
        raise
    finally:
        page.close()


def _open_and_run_all(page: Any, jupyterlab: Any, name: str) -> None:
    """Open a notebook, start its kernel (JupyterLab may ask which: take Python 3), run all."""
    page.goto(jupyterlab.notebook_url(name), wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    select = page.locator(".jp-Dialog button", has_text="Select")
    try:
        select.wait_for(timeout=10_000)
        select.click()
    except PlaywrightTimeout:
        pass  # no dialog: the kernel started by itself
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    # The first cell gets its execution count once the kernel took the request.
    page.locator(".jp-InputPrompt", has_text="[1]:").first.wait_for(timeout=60_000)


def test_livy_table_and_login_widget_render_in_jupyterlab(jupyterlab, browser, livy_server, screenshots):
    _write_notebook(jupyterlab.root / "frontend.ipynb", livy_server.url,
                    "%%livy_sql\nSELECT id, id * 1.5 AS price, CONCAT('item-', id) AS label FROM range(4)",
                    "%livy login")
    with _page(browser, screenshots, "jupyterlab", height=1000) as page:
        _open_and_run_all(page, jupyterlab, "frontend.ipynb")

        table = page.locator(".jp-OutputArea-output table.dataframe")
        table.first.wait_for(timeout=180_000)
        headers = table.first.locator("th").all_inner_texts()
        assert {"id", "price", "label"} <= {h.strip() for h in headers}
        assert "item-3" in table.first.inner_text()

        method = page.locator(".jp-OutputArea-output .widget-dropdown select")
        method.first.wait_for(state="visible", timeout=60_000)
        assert page.locator(".jp-OutputArea-output button", has_text="Sign in").first.is_visible()
        for field in ("Workspace id", "Lakehouse id", "Environment id"):
            assert page.locator(".jp-OutputArea-output .widget-label", has_text=field).first.is_visible()
        stderr = ".jp-OutputArea-output .jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']"
        assert page.locator(stderr).count() == 0
        page.screenshot(path=str(screenshots / "jupyterlab-livy-table-and-login.png"), full_page=True)


def test_progress_line_shows_while_a_statement_runs_and_clears_after(
        jupyterlab, browser, livy_server, screenshots):
    _write_notebook(jupyterlab.root / "progress.ipynb", livy_server.url,
                    "%%livy\nimport time\nfor step in range(4):\n"
                    "    spark.range(2_000_000).selectExpr('sum(id)').collect()\n"
                    "    time.sleep(1.5)\nprint('finished', step)")
    with _page(browser, screenshots, "jupyterlab-progress", height=700) as page:
        _open_and_run_all(page, jupyterlab, "progress.ipynb")
        # First the session start (phase and elapsed time), then the statement's progress bar.
        progress = page.locator(".jp-OutputArea-output .fabric-livy-progress")
        progress.first.wait_for(state="visible", timeout=120_000)
        assert re.search(r"\d+\.\d s", progress.first.inner_text())  # elapsed time is shown
        bar = page.locator(".jp-OutputArea-output .fabric-livy-progress progress")
        bar.first.wait_for(state="visible", timeout=120_000)
        assert 0.0 <= float(bar.first.get_attribute("value")) <= 1.0
        page.screenshot(path=str(screenshots / "jupyterlab-progress-running.png"), full_page=True)
        page.locator(".jp-OutputArea-output", has_text="finished 3").first.wait_for(timeout=120_000)
        page.wait_for_timeout(500)
        assert page.locator(".jp-OutputArea-output .fabric-livy-progress").count() == 0
        page.screenshot(path=str(screenshots / "jupyterlab-progress-done.png"), full_page=True)
