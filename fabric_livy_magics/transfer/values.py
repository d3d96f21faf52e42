"""Send a plain value (number, text, true/false, None, list, dict) to the remote session.

The value travels as JSON text inside a Python string literal made by ``repr`` and is read back
remotely with ``json.loads``, as the transfer protocol sends its specs (``wire.py``): nothing of
the value, nor the name, becomes code. Only what JSON holds exactly is sent; anything else (a
set, a date, a dict with non-text keys) is refused with its path, never converted silently.
NumPy scalars (``df["x"].sum()``) become the Python number they hold.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from typing import Any

from fabric_livy_magics.errors import ConfigurationError, MalformedResponse

from .models import Runner, validate_send_name

__all__ = ["MAX_VALUE_CHARS", "SentValue", "plain_value", "send_value"]

#: One statement carries the value: beyond this, a DataFrame is the way to send data.
MAX_VALUE_CHARS = 4 * 1024 * 1024
_MAX_DEPTH = 100


@dataclass(frozen=True)
class SentValue:
    """What ``send_value`` created remotely."""

    remote_name: str
    type_name: str
    chars: int


def plain_value(value: Any, path: str = "value", depth: int = 0) -> Any:
    """``value`` as plain JSON-able Python, or ConfigurationError naming the part that is not."""
    if depth > _MAX_DEPTH:
        raise ConfigurationError(f"{path} is nested more than {_MAX_DEPTH} levels deep.")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigurationError(f"{path} is {value!r}, which JSON cannot carry; use None.")
        return value
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return plain_value(value.item(), path, depth)
    if isinstance(value, list):
        return [plain_value(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigurationError(f"{path} has the key {key!r}: only text keys can be sent.")
            out[key] = plain_value(item, f"{path}[{key!r}]", depth + 1)
        return out
    raise ConfigurationError(
        f"{path} is a {type(value).__name__}: send numbers, text, True/False, None, lists and dicts "
        "of them, or a pandas DataFrame.")


def send_value(run: Runner, value: Any, remote_name: str) -> SentValue:
    """Make ``value`` the remote variable ``remote_name`` (checked locally before any call)."""
    validate_send_name(remote_name)
    text = json.dumps(plain_value(value), separators=(",", ":"))
    if len(text) > MAX_VALUE_CHARS:
        raise ConfigurationError(f"The value is {len(text):,} characters as JSON (at most {MAX_VALUE_CHARS:,}): "
                                 "send large data as a pandas DataFrame.")
    marker = f"<<<flm:{uuid.uuid4().hex}:set>>>"
    code = (
        "def _flm_set(ns):\n"
        "    import json as _json\n"
        f"    ns[_json.loads({json.dumps(remote_name)!r})] = _json.loads({text!r})\n"
        f"    print({marker!r})\n"
        "try:\n"
        "    _flm_set(locals())\n"
        "finally:\n"
        "    del _flm_set\n"
    )
    if marker not in run(code):
        raise MalformedResponse(f"The remote session did not confirm {remote_name}: run the command again.")
    return SentValue(remote_name=remote_name, type_name=type(value).__name__, chars=len(text))
