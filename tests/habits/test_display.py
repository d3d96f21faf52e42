"""Fabric's ``display(df)`` and ``plt.show()`` in a local-server session, and no pandas-3 warning
from PySpark's ``toPandas()``: through a real shell, one shared Spark session."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from IPython.utils.capture import capture_output

pytestmark = pytest.mark.timeout(300)


def _run(shell: Any, code: str) -> Any:
    with capture_output() as cap:
        shell.run_cell_magic("livy", "", code)
    return cap


def _frames(cap: Any) -> list[str]:
    return [out.data["text/html"] for out in cap.outputs if "text/html" in out.data]


def test_display_of_a_spark_dataframe_is_the_table(shell: Any, notebook: Any) -> None:
    cap = _run(shell, "df = spark.range(4).selectExpr('id', 'id * 2 AS twice')\nprint('before')\ndisplay(df)")
    assert cap.stdout.startswith("before")
    (html,) = _frames(cap)
    assert "twice" in html and "<td>6</td>" in html


def test_display_of_a_pandas_dataframe_is_the_table(shell: Any, notebook: Any) -> None:
    cap = _run(shell, "import pandas as pd\ndisplay(pd.DataFrame({'city': ['Oslo', 'Lima'], 'n': [1, 2]}))")
    (html,) = _frames(cap)
    assert "Oslo" in html and "Lima" in html


def test_display_says_when_rows_were_cut(shell: Any, notebook: Any) -> None:
    """The local server keeps 1,000 rows of a table (its --sql-max-rows), as Fabric's display does."""
    cap = _run(shell, "display(spark.range(1500))")
    assert "display(): showing the first 1,000 rows" in cap.stdout
    assert len(_frames(cap)) == 1


def test_display_of_other_values_prints_them(shell: Any, notebook: Any) -> None:
    cap = _run(shell, "display({'a': 1}, 'text')")
    assert cap.stdout.splitlines() == ["{'a': 1}", "'text'"]


def test_plt_show_shows_the_figure(shell: Any, notebook: Any) -> None:
    cap = _run(shell, "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title('remote')\nplt.show()")
    images = [out for out in cap.outputs if "image/png" in out.data]
    assert len(images) == 1
    again = _run(shell, "print('no figure left open')")
    assert not [out for out in again.outputs if "image/png" in out.data]


def test_two_tables_in_one_cell_keep_the_last_and_say_so(shell: Any, notebook: Any) -> None:
    cap = _run(shell, "display(spark.range(2))\ndisplay(spark.range(3).selectExpr('id AS last'))")
    (html,) = _frames(cap)
    assert "last" in html
    assert "a cell shows one table" in cap.stdout


def test_to_pandas_prints_no_pandas3_future_warning(shell: Any, notebook: Any) -> None:
    assert pd.__version__.split(".")[0] >= "3"  # the warning this test is about is pandas 3's
    cap = _run(shell, "pdf = spark.range(3).toPandas()\nprint(len(pdf))")
    assert cap.stdout.strip() == "3"
    assert "FutureWarning" not in cap.stdout + cap.stderr
    other = _run(shell, "import warnings\nwarnings.warn('still shown', FutureWarning)")
    assert "still shown" in other.stdout  # only that one warning is silenced
