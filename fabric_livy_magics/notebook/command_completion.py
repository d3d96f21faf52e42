"""Tab completion of the magics' own words: ``%livy `` offers the subcommands, ``%livy connect --``
their options, ``%%livy -`` and ``%%livy_sql -`` the cell magics' options, all read from the
same argparse parsers that parse the line (a command or option added there is offered without
another edit). Local and instant: nothing is sent anywhere.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["command_completions", "install_command_completion", "remove_command_completion"]

_LINE = re.compile(r"^\s*%livy\s+(?P<words>.*)$")
_CELL = re.compile(r"^\s*%%(?P<magic>livy_sql|livy)\b(?P<words>.*)$")


def _options(parser: Any) -> list[str]:
    return sorted(option for option in parser._option_string_actions if option.startswith("--")) + sorted(
        option for option in parser._option_string_actions if not option.startswith("--"))


def command_completions(before_cursor: str, *, first_line: bool, cell_parsers: dict[str, Any],
                        line_parsers: dict[str, Any]) -> tuple[list[tuple[str, str]], str]:
    """``([(completion, kind)], fragment being completed)`` for the text of the line up to the cursor."""
    fragment = before_cursor.split()[-1] if before_cursor and not before_cursor[-1].isspace() else ""
    line = _LINE.match(before_cursor)
    if line:
        words = line.group("words").split()
        typed = words[:-1] if fragment else words  # the words before the one being completed
        commands = [tuple(name.split()) for name in line_parsers]  # "batch submit": two words
        if not fragment.startswith("-"):
            position = len(typed)
            offered = sorted({c[position] for c in commands if len(c) > position and list(c[:position]) == typed
                              and c[position].startswith(fragment)})
            return [(word, "command") for word in offered], fragment
        known = [c for c in commands if list(c) == typed[:len(c)]]
        if known:
            parser = line_parsers[" ".join(max(known, key=len))]
            return [(o, "option") for o in _options(parser) if o.startswith(fragment)], fragment
        return [], fragment
    cell = _CELL.match(before_cursor)
    if cell and first_line and fragment.startswith("-"):
        parser = cell_parsers.get(cell.group("magic"))
        if parser is not None:
            return [(o, "option") for o in _options(parser) if o.startswith(fragment)], fragment
    return [], fragment


def install_command_completion(shell: Any, magics: Any) -> None:
    """Add the matcher to ``shell``'s completer (once)."""
    from IPython.core.completer import SimpleCompletion, context_matcher

    completer = getattr(shell, "Completer", None)
    if completer is None or any(getattr(m, "flm_commands", False) for m in completer.custom_matchers):
        return

    @context_matcher(identifier="fabric_livy_magics.commands")
    def commands_matcher(context: Any) -> dict[str, Any]:
        from fabric_livy_magics.notebook.commands import PARSERS

        try:
            names, fragment = command_completions(
                context.text_until_cursor, first_line=context.cursor_line == 0,
                cell_parsers={"livy": magics.livy.parser, "livy_sql": magics.livy_sql.parser},
                line_parsers={name: func.parser for name, func in PARSERS.items()})
        except Exception:  # noqa: BLE001 - a keystroke never fails
            names, fragment = [], context.token
        completions = [SimpleCompletion(text=name, type=kind) for name, kind in names]
        # An option of ours that does not exist: offer nothing rather than Python's builtins.
        ours = fragment.startswith("-") and bool(_LINE.match(context.text_until_cursor))
        return {"completions": completions, "suppress": bool(completions) or ours, "matched_fragment": fragment}

    commands_matcher.flm_commands = True  # type: ignore[attr-defined]
    completer.custom_matchers.append(commands_matcher)


def remove_command_completion(shell: Any) -> None:
    completer = getattr(shell, "Completer", None)
    if completer is not None:
        completer.custom_matchers[:] = [m for m in completer.custom_matchers if not getattr(m, "flm_commands", False)]
