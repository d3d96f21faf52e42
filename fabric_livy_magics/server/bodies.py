"""Request bodies of both URL shapes, checked into plain dicts with one-line 400 messages.

The Livy shape rejects unknown fields (as Livy's Jackson mapping does); the Fabric shape ignores
them. Session and batch requests share one field checker (``_checked``) over a ``Fields`` table.
Kinds: ``pyspark`` (alias ``python``) and ``sql`` run; ``spark`` and ``sparkr`` are refused.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from fabric_livy_magics.server.errors import ApiError
from fabric_livy_magics.server.ids import shown_ref

__all__ = ["batch_request", "completion_request", "parse_duration", "parse_json", "session_request", "statement_request"]

#: Livy's conf for the rows a ``sql`` statement returns.
SQL_ROWS_CONF = "livy.rsc.sql.num-rows"
RUNNABLE_KINDS = {"pyspark": "pyspark", "python": "pyspark", "sql": "sql"}
REFUSED_KINDS = {"spark": "Scala", "sparkr": "R"}
SESSION_KINDS = {*RUNNABLE_KINDS, "shared"}


@dataclass(frozen=True)
class Fields:
    """The fields a request takes, by type; ``fabric_only`` ones are unknown to the Livy shape."""

    what: str
    strings: frozenset[str]
    ints: frozenset[str]
    lists: frozenset[str]
    maps: frozenset[str]
    fabric_only: frozenset[str]
    list_items: tuple[type, ...] = (str,)

    def allowed(self, *, livy: bool) -> frozenset[str]:
        every = self.strings | self.ints | self.lists | self.maps
        return every - self.fabric_only if livy else every


SESSION_FIELDS = Fields(
    what="session",
    strings=frozenset({"kind", "proxyUser", "driverMemory", "executorMemory", "queue", "name", "ttl", "sessionTag"}),
    ints=frozenset({"driverCores", "executorCores", "numExecutors", "heartbeatTimeoutInSecond"}),
    lists=frozenset({"jars", "pyFiles", "files", "archives"}),
    maps=frozenset({"conf", "tags"}),
    fabric_only=frozenset({"sessionTag", "tags"}),
)
BATCH_FIELDS = Fields(
    what="batch",
    strings=frozenset({"file", "proxyUser", "className", "driverMemory", "executorMemory", "queue", "name"}),
    ints=frozenset({"driverCores", "executorCores", "numExecutors"}),
    lists=frozenset({"args", "jars", "pyFiles", "files", "archives"}),
    maps=frozenset({"conf", "tags"}),
    fabric_only=frozenset({"tags"}),
    list_items=(str, int, float),  # spark-submit arguments may be numbers; they are passed as text
)
_JAVA_INT_MAX = 2**31 - 1  # Livy reads these fields as Java ints
#: Longer than any session should live (ten years): a bigger duration is a typo or an attack.
MAX_DURATION_SECONDS = 10 * 365 * 86400
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """``"90"``, ``"45s"``, ``"30m"``, ``"2h"`` → seconds; ValueError otherwise."""
    match = _DURATION.match(str(text)) if len(str(text)) <= 32 else None
    if match is None:
        raise ValueError(f"'{shown_ref(text, 32)}' is not a duration: use seconds or a number with ms, s, m, h or d (e.g. 30m)")
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower() if match.group(2) else None]
    if not seconds <= MAX_DURATION_SECONDS:
        raise ValueError(f"'{shown_ref(text, 32)}' is longer than ten years")
    return seconds


def parse_json(body: bytes, *, required: bool) -> dict[str, Any]:
    """The body as a JSON object; an empty body is ``{}`` unless the call needs one.

    Numbers Java could not hold are refused with the field named: ``NaN``/``Infinity``, floats
    that overflow (``1e400``) and integers beyond 64 bits. Nesting deeper than any real request
    is refused, not followed until the stack runs out."""
    if not body.strip():
        if required:
            raise ApiError(400, "The request needs a JSON object body.", "InvalidRequest")
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "The request body is not valid JSON: send it as UTF-8 text.", "InvalidRequest") from None
    try:
        value = json.loads(text, parse_constant=_BadNumber, parse_float=_float, parse_int=_int)
    except RecursionError:  # the parser's own guard against nesting that would exhaust the stack
        raise ApiError(400, "The request body nests too deeply to be a request.", "InvalidRequest") from None
    except ValueError as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}.", "InvalidRequest") from None
    if not isinstance(value, dict):
        raise ApiError(400, f"The request body must be a JSON object, not {_json_type(value)}.", "InvalidRequest")
    _refuse_bad_numbers(value)
    return value


_INT_LIMIT = 2**63


class _BadNumber(str):
    """A number Java cannot hold, kept as its text until the field holding it is known."""


def _float(text: str) -> float | _BadNumber:
    value = float(text)
    return value if math.isfinite(value) else _BadNumber(text)


def _int(text: str) -> int | _BadNumber:
    if len(text.lstrip("-")) > 19:
        return _BadNumber(text)
    value = int(text)
    return value if -_INT_LIMIT <= value < _INT_LIMIT else _BadNumber(text)


def _refuse_bad_numbers(value: Any) -> None:
    """400 naming the first field that holds a number Java cannot hold."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, _BadNumber):
            where = f"'{shown_ref(path, 80)}'" if path else "the body"
            text = item if len(item) <= 24 else item[:24] + "..."
            raise ApiError(400, f"{where} holds {text}, which is not a finite number of at most 64 bits.",
                           "InvalidRequest")
        if isinstance(item, dict):
            stack.extend((f"{path}.{key}" if path else str(key), child) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(item))


def _json_type(value: Any) -> str:
    """What a client sent, in JSON's words (a message names no Python type)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _reject_unknown(body: dict[str, Any], allowed: frozenset[str], what: str) -> None:
    """Livy shape only: a field Livy does not know is a 400 (Jackson's ``FAIL_ON_UNKNOWN_PROPERTIES``)."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        names = ", ".join(f"'{shown_ref(name)}'" for name in unknown[:10])
        raise ApiError(
            400, f"Unrecognized field(s) {names} in the {what} request; known fields: {', '.join(sorted(allowed))}.", "InvalidRequest"
        )


def _check_kind(kind: Any, *, session: bool) -> str | None:
    if kind is None:
        return None
    if not isinstance(kind, str):
        raise ApiError(400, f"'kind' must be a string, not {_json_type(kind)}.", "InvalidRequest")
    lowered = kind.lower()
    if lowered in REFUSED_KINDS:
        raise ApiError(
            400,
            f"This local server runs only pyspark and sql code; kind '{shown_ref(kind)}' ({REFUSED_KINDS[lowered]}) is not supported.",
            "UnsupportedKind",
        )
    allowed = SESSION_KINDS if session else RUNNABLE_KINDS
    if lowered not in allowed:
        raise ApiError(400, f"Unknown kind '{shown_ref(kind)}': use one of {', '.join(sorted(allowed))}.", "InvalidRequest")
    return RUNNABLE_KINDS.get(lowered, lowered)


def _checked(body: dict[str, Any], fields: Fields, *, livy: bool) -> dict[str, Any]:
    """The known, non-null fields of ``body``, type-checked; maps get string values."""
    allowed = fields.allowed(livy=livy)
    if livy:
        _reject_unknown(body, allowed, fields.what)
    spec: dict[str, Any] = {}
    for key, value in body.items():
        if key not in allowed or value is None:
            continue
        if key in fields.strings and not isinstance(value, str):
            raise ApiError(400, f"'{key}' must be a string, not {_json_type(value)}.", "InvalidRequest")
        if key in fields.ints and (isinstance(value, bool) or not isinstance(value, int)):
            raise ApiError(400, f"'{key}' must be an integer, not {_json_type(value)}.", "InvalidRequest")
        if key in fields.ints and not 0 <= value <= _JAVA_INT_MAX:
            raise ApiError(400, f"'{key}' must be between 0 and {_JAVA_INT_MAX}.", "InvalidRequest")
        if key in fields.lists:
            if not isinstance(value, list) or not all(isinstance(v, fields.list_items) for v in value):
                raise ApiError(400, f"'{key}' must be a list of strings.", "InvalidRequest")
            value = [str(v) for v in value]
        if key in fields.maps:
            if not isinstance(value, dict) or not all(isinstance(v, (str, int, float, bool)) for v in value.values()):
                raise ApiError(400, f"'{key}' must be an object of string values.", "InvalidRequest")
            value = {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in value.items()}
        spec[key] = value
    return spec


def session_request(body: dict[str, Any], *, livy: bool) -> dict[str, Any]:
    """Checked session (or high-concurrency session) request; adds ``ttl_seconds`` when given."""
    spec = _checked(body, SESSION_FIELDS, livy=livy)
    spec["kind"] = _check_kind(spec.get("kind"), session=True)
    rows = spec.get("conf", {}).get(SQL_ROWS_CONF)
    if rows is not None and not (rows.isascii() and rows.isdigit() and len(rows) <= 9):
        raise ApiError(400, f"'conf.{SQL_ROWS_CONF}' must be a whole number of rows, got '{shown_ref(rows, 24)}'.", "InvalidRequest")
    if "ttl" in spec:
        try:
            spec["ttl_seconds"] = parse_duration(spec["ttl"])
        except ValueError as exc:
            raise ApiError(400, f"Bad 'ttl': {exc}.", "InvalidRequest") from None
    return spec


def batch_request(body: dict[str, Any], *, livy: bool) -> dict[str, Any]:
    """The checked batch request; ``file`` is required (the ``.py`` or ``.jar`` to run)."""
    spec = _checked(body, BATCH_FIELDS, livy=livy)
    if not spec.get("file", "").strip():
        raise ApiError(400, "'file' is required: the path of the .py or .jar file to run.", "InvalidRequest")
    return spec


def statement_request(body: dict[str, Any], *, livy: bool, default_kind: str | None) -> dict[str, Any]:
    """Checked statement request: code, kind (defaults to the session's, else pyspark), sourceId."""
    if livy:
        _reject_unknown(body, frozenset({"code", "kind"}), "statement")
    code = body.get("code")
    if not isinstance(code, str):
        raise ApiError(400, "'code' is required and must be a string.", "InvalidRequest")
    kind = _check_kind(body.get("kind"), session=False)
    if kind is None:
        kind = default_kind if default_kind in ("pyspark", "sql") else "pyspark"
    source_id = body.get("sourceId")
    if source_id is not None and not isinstance(source_id, str):
        raise ApiError(400, "'sourceId' must be a string.", "InvalidRequest")
    return {"code": code, "kind": kind, "sourceId": source_id}


def completion_request(body: dict[str, Any]) -> dict[str, Any]:
    code = body.get("code")
    if not isinstance(code, str):
        raise ApiError(400, "'code' is required and must be a string.", "InvalidRequest")
    kind = _check_kind(body.get("kind"), session=False) or "pyspark"
    cursor = body.get("cursor", len(code))
    if isinstance(cursor, str) and cursor.isdigit():
        cursor = int(cursor)
    if isinstance(cursor, bool) or not isinstance(cursor, int) or not 0 <= cursor <= len(code):
        raise ApiError(400, f"'cursor' must be an integer between 0 and {len(code)}.", "InvalidRequest")
    return {"code": code, "kind": kind, "cursor": cursor}
