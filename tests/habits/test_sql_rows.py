"""``%%livy_sql`` with and without ``-o`` honours ``-n``/maxrows and says when rows were cut;
``--sample`` samples. Through a real shell, one shared Spark session."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

pytestmark = pytest.mark.timeout(300)


def _sql(shell: Any, line: str, query: str) -> tuple[list[pd.DataFrame], str]:
    with capture_output() as cap:
        shell.run_cell_magic("livy_sql", line, query)
    frames = [out for out in cap.outputs if "text/html" in out.data]
    return frames, cap.stdout


def test_without_o_more_rows_than_the_servers_1000_come_back(shell: Any, notebook: Any) -> None:
    """Default maxrows is 2,500: 1,500 rows are all shown, none cut (the server's own cap was 1,000)."""
    shell.run_line_magic("config", "LivyMagics.maxrows = 2500")
    with capture_output() as cap:
        shell.run_cell_magic("livy_sql", "-o all_rows", "SELECT id FROM range(1500)")
    assert len(shell.user_ns["all_rows"]) == 1500 and "Showing" not in cap.stdout
    frames, out = _sql(shell, "", "SELECT id FROM range(1500)")
    assert len(frames) == 1 and "Showing" not in out
    assert "1500 rows" in frames[0].data["text/html"]  # pandas' own footer of the shown frame


def test_without_o_n_cuts_and_says_so(shell: Any, notebook: Any) -> None:
    frames, out = _sql(shell, "-n 5", "SELECT id FROM range(20)")
    assert "Showing the first 5 rows (maxrows 5)" in out
    assert "<td>4</td>" in frames[0].data["text/html"] and "<td>5</td>" not in frames[0].data["text/html"]


def test_maxrows_setting_applies_without_o(shell: Any, notebook: Any) -> None:
    shell.run_line_magic("config", "LivyMagics.maxrows = 3")
    try:
        _, out = _sql(shell, "", "SELECT id FROM range(10)")
    finally:
        shell.run_line_magic("config", "LivyMagics.maxrows = 2500")
    assert "Showing the first 3 rows (maxrows 3)" in out


def test_quiet_still_says_rows_were_cut(shell: Any, notebook: Any) -> None:
    frames, out = _sql(shell, "-q -n 2", "SELECT id FROM range(10)")
    assert not frames and "Showing the first 2 rows" in out


def test_o_with_n_keeps_that_many_and_says_so(shell: Any, notebook: Any) -> None:
    _, out = _sql(shell, "-o five -n 5", "SELECT id FROM range(50)")
    assert len(shell.user_ns["five"]) == 5 and "Showing the first 5 rows" in out


def test_sample_takes_a_fraction(shell: Any, notebook: Any) -> None:
    _sql(shell, "-o sampled -n -1 --sample 0.1 -q", "SELECT id FROM range(10000)")
    assert 500 < len(shell.user_ns["sampled"]) < 1500
    with capture_output():
        shell.run_cell_magic("livy", "-o big -n -1 --sample 0.5 -q", "big = spark.range(10000)")
    assert 4000 < len(shell.user_ns["big"]) < 6000


@pytest.mark.parametrize(("magic", "line", "says"), [
    ("livy_sql", "--sample 0", "--sample takes a fraction"),
    ("livy_sql", "--sample 1.5", "--sample takes a fraction"),
    ("livy", "--sample 0.5", "add -o NAME"),
])
def test_bad_sample_is_one_line(shell: Any, notebook: Any, magic: str, line: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        shell.run_cell_magic(magic, line, "SELECT 1" if magic == "livy_sql" else "x = 1")


def test_ddl_without_o_still_runs(shell: Any, notebook: Any) -> None:
    _sql(shell, "", "CREATE OR REPLACE TEMPORARY VIEW rows_view AS SELECT id FROM range(3)")
    frames, _ = _sql(shell, "", "SELECT count(*) AS n FROM rows_view")
    assert "<td>3</td>" in frames[0].data["text/html"]
