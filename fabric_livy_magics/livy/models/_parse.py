"""Tolerant field readers shared by every model's ``from_json``.

Sessions, batches and high-concurrency sessions carry many of the same fields (id, appInfo,
log, Fabric's state info, ``errorInfo[]``, pages of ``{from, total, items}``); they are read
here once so the two dialects are handled the same way everywhere.
"""

from __future__ import annotations

import math
import re

from dataclasses import dataclass
from typing import Any, Mapping, Sequence, Union

from fabric_livy_magics.errors import MalformedResponse
from fabric_livy_magics.livy.models.states import FabricAcquisitionState

__all__ = ["SessionId", "ErrorInfo"]

#: Apache Livy numbers sessions (int); Fabric names them with GUID strings.
SessionId = Union[int, str]


@dataclass(frozen=True)
class ErrorInfo:
    """One entry of Fabric's ``errorInfo[]``: branch on ``error_code``, show ``message``."""

    message: str | None = None
    error_code: str | None = None
    source: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> "ErrorInfo":
        data = data if isinstance(data, dict) else {"message": str(data)}
        return cls(message=opt_str(data.get("message")), error_code=opt_str(data.get("errorCode")),
                   source=opt_str(data.get("source")))


def require_dict(data: Any, what: str, url: str | None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise MalformedResponse(
            f"{url or 'The server'} answered {type(data).__name__} where a {what} object was "
            "expected. Check that the URL points at a Livy or Fabric Livy API endpoint."
        )
    return data


def missing(field_name: str, what: str, url: str | None) -> MalformedResponse:
    return MalformedResponse(
        f"{url or 'The server'} answered a {what} without its '{field_name}' field. "
        "Check that the URL points at a Livy or Fabric Livy API endpoint."
    )


def session_id(value: Any) -> SessionId:
    """Livy ids are ints (sometimes sent as digit strings); Fabric ids are GUID strings."""
    if isinstance(value, bool):
        raise TypeError("bool is not an id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        # ASCII digits only: "²" passes str.isdigit but int() refuses it; long ones stay text.
        return int(text) if re.fullmatch(r"[0-9]{1,18}", text) else text
    raise TypeError(f"not an id: {value!r}")


#: What an id from the server may hold to be put back into a URL: Livy's integers, Fabric's GUIDs
#: and any plain token. Anything else (slashes, spaces, JSON text) would only ever answer 404.
_USABLE_ID = re.compile(r"[A-Za-z0-9._~-]{1,200}")


def required_id(data: Mapping[str, Any], what: str, url: str | None) -> SessionId:
    """The ``id`` of a session or batch; a missing or unusable one is a malformed answer."""
    try:
        value = session_id(data.get("id"))
    except TypeError:
        raise missing("id", what, url) from None
    if isinstance(value, str) and not _USABLE_ID.fullmatch(value):
        raise _unusable_id(value, what, url)
    return value


def required_text_id(data: Mapping[str, Any], what: str, url: str | None) -> str:
    """A string ``id`` (Fabric's GUIDs) that can go back into a URL."""
    value = data.get("id")
    if value is None or value == "":
        raise missing("id", what, url)
    if not isinstance(value, str) or not _USABLE_ID.fullmatch(value.strip()):
        raise _unusable_id(value, what, url)
    return value.strip()


def _unusable_id(value: Any, what: str, url: str | None) -> MalformedResponse:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return MalformedResponse(f"{url or 'The server'} answered a {what} whose id {shown} cannot be used in a URL. "
                             "Check that the URL points at a Livy or Fabric Livy API endpoint.")


def opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else (None if value is None else str(value))


def opt_int(value: Any) -> int | None:
    """An optional whole number; anything else (text, NaN, Infinity, bools) is None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        return None


def opt_fraction(value: Any) -> float | None:
    """Livy's ``progress``: a finite number, clamped to 0..1; anything else is unknown (None)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int of hundreds of digits
        return None
    return min(max(number, 0.0), 1.0) if math.isfinite(number) else None


def str_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(item) for item in value if item is not None)
    if isinstance(value, str):
        return tuple(value.splitlines())
    return ()


def as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def extra(data: Mapping[str, Any], known: set[str]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in known}


def fabric_state_info(value: Any) -> tuple[FabricAcquisitionState | None, str | None]:
    """Fabric's ``fabric{Session,Batch}StateInfo``: the acquisition state and its error text."""
    info = value if isinstance(value, dict) else None
    state = (FabricAcquisitionState(info.get("state"))
             if info and info.get("state") is not None else None)
    return state, (opt_str(info.get("errorMessage")) if info else None)


def _as_list(value: Any) -> list[Any]:
    """A JSON array as a list; a lone object is a list of one; anything else none."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def job_fields(data: Mapping[str, Any], *, fabric_key: str) -> dict[str, Any]:
    """Fields that sessions and batches share, as keyword arguments of either model."""
    fabric_state, fabric_error = fabric_state_info(data.get(fabric_key))
    return dict(
        name=opt_str(data.get("name")),
        app_id=opt_str(data.get("appId")),
        app_info=as_dict(data.get("appInfo")),
        log=str_list(data.get("log")),
        fabric_state=fabric_state,
        fabric_error_message=fabric_error,
        livy_info=as_dict(data.get("livyInfo")),
        error_info=tuple(ErrorInfo.from_json(item) for item in _as_list(data.get("errorInfo"))
                         if item is not None),
        tags=as_dict(data.get("tags")),
        submitter_name=opt_str(data.get("submitterName")),
    )


#: Keys :func:`job_fields` reads (plus ``id``), so ``extra`` leaves them out.
JOB_FIELDS = {"id", "name", "appId", "appInfo", "log", "livyInfo", "errorInfo", "tags",
              "submitterName"}


def first_error(fabric_error_message: str | None, error_info: Sequence[ErrorInfo]) -> str | None:
    """The most specific error text the server gave: Fabric's state info, else ``errorInfo``."""
    if fabric_error_message:
        return fabric_error_message
    for info in error_info:
        if info.message:
            return f"{info.error_code}: {info.message}" if info.error_code else info.message
    return None


def page_items(data: Mapping[str, Any], keys: Sequence[str], what: str,
               url: str | None) -> list[Any]:
    """The item list of a page: Livy's ``sessions``, Fabric's ``items`` (or OData's ``value``)."""
    items = next((data[key] for key in keys if data.get(key) is not None), None)
    if not isinstance(items, list):
        raise missing("sessions", what, url)
    return items


def page_position(data: Mapping[str, Any], start: int) -> tuple[int, int | None]:
    """Where a page starts and how many items exist (Livy ``from``/``total``; Fabric's count)."""
    total = opt_int(data.get("total"))
    if total is None:
        total = opt_int(data.get("totalCountOfMatchedItems"))
    start_at = opt_int(data.get("from"))
    return (start if start_at is None else start_at), total
