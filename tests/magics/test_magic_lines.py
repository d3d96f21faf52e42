"""What a magic line may hold: it is read as typed (no `{...}`/`$x` expansion: JSON and shell-like
text reach the options intact, no expression is evaluated), and a line no option can mean (too
long, not valid text) is refused in one line before anything reads it. No Spark, no server."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError

from fabric_livy_magics.notebook.commands.parsing import MAX_LINE_CHARS


def test_braces_and_dollars_reach_the_options_as_typed(shell: Any, tmp_path: Any) -> None:
    shell.user_ns["x"] = "EXPANDED"
    shell.user_ns["evaluated"] = []
    for typed in ("{x}", "$x", "{evaluated.append(1)}"):
        with pytest.raises(UsageError) as info:
            shell.run_line_magic("livy", f"export --notebook {tmp_path}/{typed}.ipynb")
        assert f"{typed}.ipynb" in str(info.value) and "EXPANDED" not in str(info.value)
    assert shell.user_ns["evaluated"] == []


@pytest.mark.parametrize("line, expected", [
    ("help " + "a" * (MAX_LINE_CHARS + 1), "characters long"),
    ("connect --url http://127.0.0.1:9/\udcff", "not valid text"),
])
def test_a_line_no_option_can_mean_is_one_usage_error(shell: Any, line: str, expected: str) -> None:
    with pytest.raises(UsageError, match=expected) as info:
        shell.run_line_magic("livy", line)
    assert "\n" not in str(info.value)
    with pytest.raises(UsageError, match=expected):
        shell.run_cell_magic("livy_sql", line, "select 1")
