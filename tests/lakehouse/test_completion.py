"""Tab completion of table and column names in SQL cells: in a shell with the extension, and
through this project's kernel started by jupyter_client (as JupyterLab and VS Code start it)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.utils.capture import capture_output
from jupyter_client.manager import start_new_kernel

from fabric_livy_magics.notebook.kernelspec import install_kernel, uninstall_kernel
from tests.kernel_cells import execute

pytestmark = pytest.mark.timeout(300)

KERNEL_NAME = "fabric-livy-completion-tests"


def shell_complete(shell: Any, code: str, cursor: int | None = None) -> list[str]:
    cursor = len(code) if cursor is None else cursor
    with provisionalcompleter():
        return [c.text for c in shell.Completer.completions(code, cursor)]


def test_sql_cells_complete_tables_then_columns(shell: Any, notebook: Any, server_client: Any) -> None:
    with capture_output():
        shell.run_cell_magic("livy", "", "spark.createDataFrame([(1, 2.0)], 'order_no long, order_total double')"
                             ".createOrReplaceTempView('cmp_orders')")
    assert "cmp_orders" in shell_complete(shell, "%%livy_sql\nSELECT * FROM cmp_or")
    qualified = "%%livy_sql\nSELECT o.order_t FROM cmp_orders AS o"
    assert shell_complete(shell, qualified, qualified.index(" FROM")) == ["order_total"]
    unqualified = "%%livy_sql\nSELECT order_ FROM cmp_orders"
    unqualified = shell_complete(shell, unqualified, unqualified.index(" FROM"))
    assert unqualified == ["order_no", "order_total"]
    # a Python cell is not SQL: nothing remote is offered there
    assert "cmp_orders" not in shell_complete(shell, "cmp_or")

    session_id = notebook.session.session_id
    before = len(server_client.list_statements(session_id))
    shell_complete(shell, "%%livy_sql\nSELECT * FROM cmp_or")
    assert len(server_client.list_statements(session_id)) == before  # the names are cached

    with capture_output():
        shell.run_cell_magic("livy_sql", "", "CREATE OR REPLACE TEMP VIEW cmp_fresh AS SELECT 1 AS fresh_col")
    assert "cmp_fresh" in shell_complete(shell, "%%livy_sql\nSELECT * FROM cmp_fr")  # DDL emptied the cache
    with capture_output():
        shell.run_cell_magic("livy", "", "spark.range(1).createOrReplaceTempView('cmp_from_python')")
    assert "cmp_from_python" in shell_complete(shell, "%%livy -l sql\nSELECT * FROM cmp_from_p")


def test_no_session_means_no_completion_and_no_session(shell: Any, livy_server: Any) -> None:
    from fabric_livy_magics.notebook.completion import sql_completions

    class NoSession:
        session = None

    assert sql_completions(NoSession(), "%%livy_sql\nSELECT * FROM x", 1, "SELECT * FROM x") == ([], "x")


# --------------------------------------------------------------------------- through the kernel


@pytest.fixture(scope="module")
def kernel(livy_server: Any) -> Iterator[Any]:
    install_kernel(KERNEL_NAME, prefix=sys.prefix)
    manager, client = start_new_kernel(kernel_name=KERNEL_NAME, startup_timeout=120)
    try:
        assert execute(client, f"%livy connect --url {livy_server.url}")["status"] == "ok"
        yield client
    finally:
        execute(client, "%livy stop")
        client.stop_channels()
        manager.shutdown_kernel(now=False)
        uninstall_kernel(KERNEL_NAME)




def kernel_complete(client: Any, code: str, cursor: int | None = None) -> dict[str, Any]:
    msg_id = client.complete(code, len(code) if cursor is None else cursor)
    while True:
        reply = client.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]


def test_the_kernel_completes_table_and_column_names(kernel: Any) -> None:
    made = execute(kernel, "spark.createDataFrame([(1, 'x')], 'ticket_id long, ticket_note string')"
                           ".createOrReplaceTempView('krn_tickets')")
    assert made["status"] == "ok", made
    tables = kernel_complete(kernel, "%%livy_sql\nSELECT * FROM krn_ti")
    assert "krn_tickets" in tables["matches"] and tables["cursor_start"] == len("%%livy_sql\nSELECT * FROM ")
    code = "%%sql\nSELECT t.ticket_n FROM krn_tickets t"
    columns = kernel_complete(kernel, code, code.index(" FROM"))
    assert columns["matches"] == ["ticket_note"] and columns["cursor_start"] == code.index("ticket_n")

    assert execute(kernel, "%%sql\nCREATE TEMP VIEW krn_later AS SELECT 2 AS later_col")["status"] == "ok"
    assert "krn_later" in kernel_complete(kernel, "%%livy_sql\nSELECT * FROM krn_la")["matches"]


def test_the_kernel_completes_names_inside_spark_strings(kernel: Any) -> None:
    """Cells of this kernel run remotely: ``spark.table("...`` and ``spark.sql("...`` get names too."""
    assert execute(kernel, "spark.range(1).withColumnRenamed('id', 'str_col')"
                           ".createOrReplaceTempView('krn_strings')")["status"] == "ok"
    code = 'df = spark.table("krn_str'
    reply = kernel_complete(kernel, code)
    assert "krn_strings" in reply["matches"] and reply["cursor_start"] == code.index("krn_str")
    code = 'rows = spark.sql("""\n  SELECT s.str_ FROM krn_strings s""")'
    assert kernel_complete(kernel, code, code.index(" FROM"))["matches"] == ["str_col"]
    assert kernel_complete(kernel, 'print("krn_str')["matches"] == []
