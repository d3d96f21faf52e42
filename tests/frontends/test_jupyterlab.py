"""What a person sees in JupyterLab: a %%livy table and the sign-in form, rendered in Chromium."""

from __future__ import annotations

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
        page.goto(jupyterlab.notebook_url("frontend.ipynb"), wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        # JupyterLab may ask which kernel to start: take the notebook's own (Python 3).
        select = page.locator(".jp-Dialog button", has_text="Select")
        try:
            select.wait_for(timeout=10_000)
            select.click()
        except Exception:
            pass  # no dialog: the kernel started by itself
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                               "[data-status='idle']", timeout=60_000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()

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
