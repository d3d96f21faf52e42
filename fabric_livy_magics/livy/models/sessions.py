"""Interactive sessions: one snapshot each, pages of them, and their log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fabric_livy_magics.livy.models import _parse as p
from fabric_livy_magics.livy.models._parse import ErrorInfo, SessionId
from fabric_livy_magics.livy.models.states import (
    FABRIC_FAILED_STATES,
    SESSION_ENDED_STATES,
    SESSION_FAILED_STATES,
    SESSION_READY_STATES,
    SESSION_STARTING_STATES,
    FabricAcquisitionState,
    SessionKind,
    SessionState,
)

__all__ = ["Session", "SessionPage", "SessionLog"]

_SESSION_FIELDS = p.JOB_FIELDS | {"state", "kind", "owner", "proxyUser", "fabricSessionStateInfo"}


@dataclass(frozen=True)
class Session:
    """A snapshot of an interactive session; ask ``LivyClient.get_session`` for a fresh one."""

    id: SessionId
    state: SessionState = SessionState.UNKNOWN
    name: str | None = None
    kind: SessionKind | None = None
    app_id: str | None = None
    app_info: dict[str, Any] = field(default_factory=dict)
    owner: str | None = None
    proxy_user: str | None = None
    log: tuple[str, ...] = ()
    fabric_state: FabricAcquisitionState | None = None
    fabric_error_message: str | None = None
    livy_info: dict[str, Any] = field(default_factory=dict)
    error_info: tuple[ErrorInfo, ...] = ()
    tags: dict[str, Any] = field(default_factory=dict)
    submitter_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "Session":
        data = p.require_dict(data, "session", url)
        session_id = p.required_id(data, "session", url)
        common = p.job_fields(data, fabric_key="fabricSessionStateInfo")
        raw_state = data.get("state")
        if raw_state is None:
            # Early Fabric polls may carry no top-level state; livyInfo may still know it.
            raw_state = common["livy_info"].get("currentState")
        kind = data.get("kind")
        return cls(
            id=session_id,
            state=SessionState(raw_state) if raw_state is not None else SessionState.UNKNOWN,
            kind=SessionKind(kind) if kind is not None else None,
            owner=p.opt_str(data.get("owner")),
            proxy_user=p.opt_str(data.get("proxyUser")),
            extra=p.extra(data, _SESSION_FIELDS),
            **common,
        )

    @property
    def phase(self) -> str:
        """What a person should see while waiting: Fabric's acquisition phase, else Livy's state."""
        if (self.fabric_state is not None and self.fabric_state is not FabricAcquisitionState.UNKNOWN
                and self.state in SESSION_STARTING_STATES):
            return str(self.fabric_state)
        return str(self.state)

    @property
    def is_ready(self) -> bool:
        return self.state in SESSION_READY_STATES

    @property
    def has_ended(self) -> bool:
        """True when the session is gone for good (dead, killed, shut down): the one definition."""
        return self.state in SESSION_ENDED_STATES

    @property
    def has_failed(self) -> bool:
        """True once the session cannot run code any more (error, dead, or Fabric refused it)."""
        return (self.state in SESSION_FAILED_STATES or self.state in SESSION_ENDED_STATES
                or (self.fabric_state in FABRIC_FAILED_STATES
                    and self.state in SESSION_STARTING_STATES))

    @property
    def error_message(self) -> str | None:
        """The most specific error text the server gave, if any."""
        return p.first_error(self.fabric_error_message, self.error_info)


@dataclass(frozen=True)
class SessionPage:
    """One page of ``GET sessions``: Livy's ``{from, total, sessions}`` or Fabric's ``{items}``."""

    sessions: tuple[Session, ...]
    start: int = 0
    total: int | None = None

    @classmethod
    def from_json(cls, data: Any, url: str | None = None, start: int = 0) -> "SessionPage":
        data = p.require_dict(data, "session list", url)
        items = p.page_items(data, ("sessions", "items", "value"), "session list", url)
        start, total = p.page_position(data, start)
        return cls(sessions=tuple(Session.from_json(item, url) for item in items),
                   start=start, total=total)


@dataclass(frozen=True)
class SessionLog:
    """Log lines of a session or batch (Livy's ``/log`` route, or Fabric's ``log`` field)."""

    lines: tuple[str, ...]
    start: int = 0
    total: int | None = None

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "SessionLog":
        data = p.require_dict(data, "session log", url)
        return cls(lines=p.str_list(data.get("log")), start=p.opt_int(data.get("from")) or 0,
                   total=p.opt_int(data.get("total")))
