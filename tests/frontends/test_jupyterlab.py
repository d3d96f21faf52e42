"""What a person sees in JupyterLab: a %%livy table and the sign-in form, rendered in Chromium."""

from __future__ import annotations

import re

import nbformat
from nbformat.v4 import new_code_cell, new_notebook


def _write_notebook(path, server_url: str) -> None:
    nb = new_notebook(cells=[
        new_code_cell("%load_ext fabric_livy_magics"),
        new_code_cell(f"%livy connect --url {server_url}"),
        new_code_cell("%%livy_sql\nSELECT id, id * 1.5 AS price, CONCAT('item-', id) AS label "
                      "FROM range(4)"),
        new_code_cell("%livy login"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_livy_table_and_login_widget_render_in_jupyterlab(jupyterlab, browser, livy_server, screenshots):
    _write_notebook(jupyterlab.root / "frontend.ipynb", livy_server.url)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
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
        assert page.locator(".jp-OutputArea-output .jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
        page.screenshot(path=str(screenshots / "jupyterlab-livy-table-and-login.png"), full_page=True)
    except Exception:
        page.screenshot(path=str(screenshots / "jupyterlab-failure.png"), full_page=True)
        raise
    finally:
        page.close()


def _open_and_run_all(page, jupyterlab, name: str) -> None:
    """Open a notebook, start its kernel (JupyterLab may ask which: take Python 3), run all."""
    page.goto(jupyterlab.notebook_url(name), wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    select = page.locator(".jp-Dialog button", has_text="Select")
    try:
        select.wait_for(timeout=10_000)
        select.click()
    except Exception:
        pass  # no dialog: the kernel started by itself
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    # The first cell gets its execution count once the kernel took the request.
    page.locator(".jp-InputPrompt", has_text="[1]:").first.wait_for(timeout=60_000)


def test_progress_line_shows_while_a_statement_runs_and_clears_after(
        jupyterlab, browser, livy_server, screenshots):
    nb = new_notebook(cells=[
        new_code_cell("%load_ext fabric_livy_magics"),
        new_code_cell(f"%livy connect --url {livy_server.url}"),
        new_code_cell("%%livy\nimport time\nfor step in range(4):\n"
                      "    spark.range(2_000_000).selectExpr('sum(id)').collect()\n"
                      "    time.sleep(1.5)\nprint('finished', step)"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, jupyterlab.root / "progress.ipynb")
    page = browser.new_page(viewport={"width": 1400, "height": 700})
    try:
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
    except Exception:
        page.screenshot(path=str(screenshots / "jupyterlab-progress-failure.png"), full_page=True)
        raise
    finally:
        page.close()
