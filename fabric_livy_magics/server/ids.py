"""Ids and numbers in paths and query strings, read strictly.

``str.isdigit`` accepts ``²`` and ``١``, and ``int`` takes thousands of digits: a route must answer
404 or 400 for those, never fail inside. Ids are non-negative and at most 63 bits (Livy's are Java
ints and longs).
"""

from __future__ import annotations

import re

__all__ = ["MAX_ID", "parse_int_id", "shown_ref"]

MAX_ID = 2**63 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_int_id(raw: str | int) -> int | None:
    """``raw`` as a non-negative integer of at most 63 bits written in ASCII digits, else None."""
    if isinstance(raw, int):
        return raw if 0 <= raw <= MAX_ID else None
    if not _ASCII_DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def shown_ref(ref: object, limit: int = 40) -> str:
    """A client's reference as it may appear in a message: one line of printable ASCII, short.
    ``²`` shows as ``\\xb2``, a newline as ``\\n``; a backslash stays one (Windows paths)."""
    raw = str(ref)
    text = "".join(ch if ch.isascii() and ch.isprintable() else ascii(ch)[1:-1] for ch in raw[: limit + 1])
    return text if len(text) <= limit and len(raw) <= limit else text[:limit] + "..."
