"""Named sessions: ``-s NAME`` picks one of the notebook's sessions for a cell or a command.

Without ``-s`` everything uses the default session, as before names existed. A name is made by
``%livy connect -s NAME ...`` (each name has its own target, kind and conf); using a name nobody
connected, an empty name or one with odd characters is one UsageError before any remote call.
"""

from __future__ import annotations

import re

from IPython.core.error import UsageError

__all__ = ["NAME_PATTERN", "check_name", "split_session_option"]

#: Names are short words people can type and read back: letters, digits, ``_ . -``.
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,39}")

_OPTIONS = ("-s", "--session")


def check_name(name: str) -> str:
    """``name`` if it can name a session, else UsageError (one line)."""
    if not name.strip().strip("\"'"):  # IPython's parser may hand `-s ""` over as the two quotes
        raise UsageError("-s needs a session name, e.g. `-s local` (see `%livy sessions`).")
    if not NAME_PATTERN.fullmatch(name):
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise UsageError(f"Session name {shown!r} is not usable: start with a letter or _, then letters, "
                         "digits, '_', '.' or '-' (at most 40).")
    return name


def _spans(line: str) -> list[tuple[int, int, str]]:
    """Shell-like words of ``line`` as (start, end, text without quotes); quotes keep spaces."""
    words: list[tuple[int, int, str]] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        start, text, quote = i, [], None
        while i < n and (quote or not line[i].isspace()):
            char = line[i]
            if quote:
                if char == quote:
                    quote = None
                else:
                    text.append(char)
            elif char in "\"'":
                quote = char
            else:
                text.append(char)
            i += 1
        words.append((start, i, "".join(text)))
    return words


def split_session_option(line: str) -> tuple[str | None, str]:
    """``(NAME, rest of the line)`` for a ``%livy COMMAND`` line carrying ``-s NAME`` (or
    ``--session NAME``, ``--session=NAME``); ``(None, line)`` without one. The name is checked
    (``check_name``); a second ``-s`` or a missing value is a UsageError."""
    words = _spans(line)
    found: list[tuple[int, int, str]] = []  # (start, end, name) of each -s with its value
    i = 0
    while i < len(words):
        start, end, text = words[i]
        raw = line[start:end]
        if raw in _OPTIONS:
            if i + 1 >= len(words):
                raise UsageError(f"{raw} needs a session name, e.g. `{raw} local`.")
            found.append((start, words[i + 1][1], words[i + 1][2]))
            i += 2
            continue
        if raw.startswith("--session="):
            found.append((start, end, text[len("--session="):]))
        i += 1
    if not found:
        return None, line
    if len(found) > 1:
        raise UsageError("Give -s once: a command uses one session.")
    start, end, name = found[0]
    return check_name(name), (line[:start] + line[end:]).strip()
