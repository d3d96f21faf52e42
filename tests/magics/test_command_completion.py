"""Tab after ``%livy `` offers the subcommands (two-word ones word by word), after an option dash
that subcommand's options, and after ``%%livy -`` the cell magic's: through IPython's real
completer in a shell with the extension loaded. Nothing is sent anywhere."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.completer import provisionalcompleter


def completions(shell: Any, text: str) -> list[str]:
    with provisionalcompleter():
        return [c.text for c in shell.Completer.completions(text, len(text))]


@pytest.mark.parametrize("typed, expected, absent", [
    ("%livy ", {"connect", "sessions", "batch", "export", "tables", "logs"}, {"batch submit"}),
    ("%livy co", {"connect", "config"}, {"sessions"}),
    ("%livy batch ", {"submit", "status", "logs", "cancel"}, {"connect"}),
    ("%livy connect --u", {"--url"}, {"--kind"}),
    ("%livy batch submit --w", {"--wait"}, set()),
    ("%%livy -", {"--output", "--maxrows", "-o", "--timeout"}, set()),
    ("%%livy_sql --ma", {"--maxrows"}, {"--output"}),
    ("x = 1\n%livy ex", {"export"}, set()),
])
def test_words_of_the_magics_complete(shell: Any, typed: str, expected: set[str], absent: set[str]) -> None:
    offered = set(completions(shell, typed))
    assert expected <= offered, offered
    assert not absent & offered, offered


def test_an_unknown_option_offers_nothing_rather_than_python_names(shell: Any) -> None:
    assert completions(shell, "%livy stop --zz") == []
