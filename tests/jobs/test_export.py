"""``livy/export``: notebooks become one PySpark script; no Spark needed here."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy.export import NoteKind, export_notebook, read_notebook

ROOT = Path(__file__).resolve().parents[2]


def notebook(*cells: Any, kernel: str = "python3") -> dict[str, Any]:
    nb = new_notebook(cells=[new_code_cell(c) if isinstance(c, str) else c for c in cells])
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    return nb


def code_of(script: str) -> str:
    """The script without comments: what runs."""
    return "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))


@pytest.mark.parametrize("name", ["quickstart.ipynb", "sql-and-pandas.ipynb", "fabric.ipynb"])
def test_shipped_notebooks_export_to_scripts_that_compile(name: str) -> None:
    result = export_notebook(read_notebook(ROOT / "notebooks" / name), source=name)
    compile(result.script, name, "exec")
    assert "spark = SparkSession.builder.getOrCreate()" in result.script
    assert "%" not in code_of(result.script).replace("% 24", "")  # no magic left in what runs


def test_quickstart_keeps_remote_cells_in_order_and_says_what_it_left_out() -> None:
    result = export_notebook(read_notebook(ROOT / "notebooks" / "quickstart.ipynb"), source="quickstart.ipynb")
    script = result.script
    assert script.index("sales.createOrReplaceTempView") < script.index("spark.sql(") < script.index("monthly =")
    assert "# -o monthly left out: it brought the DataFrame into the notebook" in script
    assert "no_such_column" not in script  # tagged raises-exception: the notebook expects it to fail
    assert "monthly.dtypes" not in script and "chart.plot" not in script  # %%local
    left_out = {note.cell: note.reason for note in result.left_out}
    assert left_out[2].startswith("%load_ext") and "raises-exception" in left_out[13]
    assert "%%local" in left_out[9] and left_out[15].startswith("%livy")
    assert result.untranslated == () and result.exported_cells == (4, 6, 8)


def test_local_data_sent_to_spark_is_reported_by_cell_number() -> None:
    result = export_notebook(read_notebook(ROOT / "notebooks" / "sql-and-pandas.ipynb"),
                             source="sql-and-pandas.ipynb")
    [note] = result.untranslated
    assert note.cell == 5 and note.reason.startswith("%livy send customers")
    assert "# --- cell 5: NOT TRANSLATED: %livy send customers" in result.script
    with pytest.raises(ConfigurationError, match=r"cell 5: %livy send customers"):
        result.raise_if_untranslated()
    assert "NOT translated: 5" in result.summary()


def test_sql_output_becomes_pandas_only_where_later_exported_code_reads_it() -> None:
    result = export_notebook(notebook(
        "%%livy_sql -o top -n 10\nSELECT 1 AS x",
        "%%livy_sql -o unused -q\nSELECT 2 AS y",
        "%%livy\nprint(top.x.sum())",
        '%%livy -l sql\nSELECT "a\\"b" AS z',
    ))
    code = code_of(result.script)
    assert 'top = spark.sql("""\nSELECT 1 AS x\n""").limit(10).toPandas()\nprint(top)' in code
    assert "unused" not in code and 'spark.sql("""\nSELECT 2 AS y\n""")\n' in code  # -q: not shown
    assert "# -o unused left out: only the notebook's local cells used it" in result.script
    queries = [node.args[0].value for node in ast.walk(ast.parse(result.script))
               if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "sql"]
    assert 'SELECT "a\\"b" AS z' in queries  # a backslash: an exact literal, not a pretty one


def test_cells_no_job_can_run_are_listed_and_strict_refuses_them() -> None:
    result = export_notebook(notebook(
        "%%livy -l spark\nval x = 1",
        "%%livy -l sparkr\nx <- 1",
        "%%livy --no-such-option\nx = 1",
        "%%livy\nx = (",
        "%%livy\n!pip install foo",
        new_markdown_cell("text"),
        "%%livy\nx = [1, 2]\n%matplot plt\n%json x",
    ))
    reasons = {note.cell: note.reason for note in result.untranslated}
    assert reasons[1].startswith("Scala") and reasons[2].startswith("R ")
    assert "options could not be read" in reasons[3] and reasons[4].startswith("not Python")
    assert "!pip install foo" in reasons[5] and 6 not in reasons and 7 not in reasons
    # Livy's display magics only show: the rest of the cell runs, the lines become comments
    assert "pass  # %matplot plt" in result.script and 7 in result.exported_cells
    assert any(n.cell == 7 and n.kind is NoteKind.LEFT_OUT for n in result.notes)
    compile(result.script, "x.py", "exec")


def test_project_kernel_cells_run_remotely_unless_marked() -> None:
    result = export_notebook(notebook(
        "df = spark.range(3)",
        "%%local\nimport pandas",
        "%livy info\n!ls",
        "%%sql -o top\nSELECT * FROM t",
        "%%pyspark\nprint(top)",
        "%%spark\nval y = 2",
        "%livy send frame",
        "%%time\nlocal_work()",
        "# only a comment",
        kernel="fabric-livy",
    ))
    code = code_of(result.script)
    assert "df = spark.range(3)" in code and "import pandas" not in code and "local_work" not in code
    assert 'top = spark.sql("""\nSELECT * FROM t\n""").toPandas()' in code  # %%pyspark reads top
    assert {n.cell for n in result.untranslated} == {6, 7}
    assert {n.cell for n in result.left_out} == {2, 3, 8}


def test_the_kernel_rule_is_the_project_kernels_rule() -> None:
    """``livy/export/cells.py`` mirrors ``notebook/kernel.classify_cell`` (it cannot import it)."""
    from fabric_livy_magics.livy.export import CellKind, read_cells
    from fabric_livy_magics.notebook.kernel import CellTarget, classify_cell
    from fabric_livy_magics.notebook.kernelspec import DEFAULT_KERNEL_NAME, DISPLAY_NAME
    from fabric_livy_magics.livy.export.cells import PROJECT_KERNEL_DISPLAY_NAME, REMOTE_KERNEL_NAMES

    assert DEFAULT_KERNEL_NAME in REMOTE_KERNEL_NAMES and DISPLAY_NAME == PROJECT_KERNEL_DISPLAY_NAME
    samples = ["x = 1", "%%local\nx", "%livy info", "!ls\n%ls", "# c\n\n", "%%livy\nx", "  %%local\nx",
               "%who\nx = 1", "# comment\nx = 2", "%%time\nx"]
    cells = read_cells(notebook(*samples, kernel="fabric-livy-tests"))
    for text, cell in zip(samples, cells):
        target = classify_cell(text)
        remote = cell.kind in (CellKind.PYTHON, CellKind.SQL, CellKind.UNTRANSLATABLE)
        if target is CellTarget.REMOTE:
            assert remote, text  # "%who\nx = 1" too: sent remotely, so not translatable
        elif target is CellTarget.LOCAL:
            assert cell.kind is CellKind.LOCAL, text
        else:  # as written: a remote cell magic stays remote, anything else runs here
            assert remote == text.startswith("%%livy"), text


def test_a_cells_last_expression_is_printed_as_livy_shows_it() -> None:
    result = export_notebook(notebook(
        "%%livy\nx = 2\n(x *\n  3)  # seis",
        '%%livy\n"ü" + "é"',
        "%%livy\ndf.show()",
        "%%livy\nprint(1)",
    ))
    script = result.script
    assert "_print_result((x *\n  3))  # seis" in script
    assert '_print_result("ü" + "é")' in script
    assert "_print_result(df.show())" not in script and "_print_result(print" not in script
    compile(script, "x.py", "exec")


def test_a_notebook_that_cannot_be_read_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        read_notebook(tmp_path / "missing.ipynb")
    (tmp_path / "bad.ipynb").write_text("{not json")
    with pytest.raises(ConfigurationError, match="Cannot read notebook"):
        read_notebook(tmp_path / "bad.ipynb")
    (tmp_path / "list.ipynb").write_text("[]")
    with pytest.raises(ConfigurationError, match="not a Jupyter notebook"):
        read_notebook(tmp_path / "list.ipynb")


def test_export_command_writes_the_script_and_strict_refuses_with_exit_2(fabric_livy: Any, tmp_path: Path) -> None:
    shipped = ROOT / "notebooks"
    target = tmp_path / "job.py"
    done = fabric_livy("export", str(shipped / "sql-and-pandas.ipynb"), "-o", str(target))
    assert done.code == 0 and target.is_file()
    assert "NOT translated: cell 5: %livy send customers" in done.err
    refused = fabric_livy("export", str(shipped / "sql-and-pandas.ipynb"), "-o", str(tmp_path / "no.py"), "--strict")
    assert refused.code == 2 and not (tmp_path / "no.py").exists()
    assert refused.err.strip().splitlines()[-1].startswith("fabric-livy: sql-and-pandas.ipynb: 1 cell(s) cannot run")
    printed = fabric_livy("export", str(shipped / "quickstart.ipynb"), "--strict")
    assert printed.code == 0 and printed.out.startswith('"""Exported from quickstart.ipynb')
    missing = fabric_livy("export", str(tmp_path / "nope.ipynb"))
    assert missing.code == 2 and "does not exist" in missing.err
