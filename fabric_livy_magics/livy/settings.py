"""Settings read from the environment, and how to show a setting without leaking a secret.

Each front end (the magics, the command line) reads the same variables through these helpers, so
a value means the same everywhere.
"""

from __future__ import annotations

import os
import re
from typing import Any

__all__ = ["env_bool", "env_float", "env_int", "looks_secret", "mask"]

_SECRET_WORDS = re.compile(r"(secret|password|passwd|token|credential|sas|apikey|api_key|private)",
                           re.IGNORECASE)


def looks_secret(name: str) -> bool:
    """True for setting names that usually hold a secret (``...password``, ``...token``)."""
    return bool(_SECRET_WORDS.search(name))


def mask(name: str, value: Any) -> str:
    """``value`` as text, or ``****`` when ``name`` looks like a secret."""
    if value is None:
        return "-"
    return "****" if looks_secret(name) else str(value)


def env_float(names: tuple[str, ...], default: float) -> float:
    """The first of ``names`` set in the environment as a float; ``default`` if none or unreadable."""
    for name in names:
        raw = os.environ.get(name, "").strip()
        if raw:
            try:
                return float(raw)
            except ValueError:
                return default
    return default


def env_int(names: tuple[str, ...], default: int) -> int:
    value = env_float(names, float(default))
    return int(value)


def env_bool(names: tuple[str, ...], default: bool) -> bool:
    for name in names:
        raw = os.environ.get(name, "").strip().lower()
        if raw:
            return raw in ("1", "true", "yes", "on")
    return default
