"""What a magic line may hold: ``$name`` is a notebook variable's text (``%livy connect $opts``),
``{...}`` stays as typed (JSON in ``--conf`` intact, no expression evaluated), and a line no option
can mean (too long, not valid text) is refused in one line before anything reads it. No Spark."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError

from fabric_livy_magics.notebook.commands.parsing import MAX_LINE_CHARS, expand_names


def test_names_expand_and_braces_stay_as_typed(shell: Any, tmp_path: Any) -> None:
    shell.user_ns["x"] = "EXPANDED"
    shell.user_ns["evaluated"] = []
    for typed, shown in (("$x", "EXPANDED"), ("${x}", "EXPANDED"), ("{x}", "{x}"), ("$$x", "$x"),
                         ("$undefined_name", "$undefined_name"), ("{evaluated.append(1)}", "{evaluated.append(1)}")):
        with pytest.raises(UsageError) as info:
            shell.run_line_magic("livy", f"export --notebook {tmp_path}/{typed}.ipynb")
        assert f"/{shown}.ipynb" in str(info.value), (typed, str(info.value))
    assert shell.user_ns["evaluated"] == []


def test_json_in_an_option_is_not_touched() -> None:
    line = """connect --conf 'spark.x={"a": 1, "b": [2]}' --name $name"""
    assert expand_names(line, {"name": "etl"}) == """connect --conf 'spark.x={"a": 1, "b": [2]}' --name etl"""


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
