"""Fabric high-concurrency sessions: one REPL inside a Spark session shared by several notebooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fabric_livy_magics.livy.models import _parse as p
from fabric_livy_magics.livy.models.states import (
    HC_ENDED_STATES,
    HC_FAILED_STATES,
    FabricAcquisitionState,
    HighConcurrencyState,
)
from fabric_livy_magics.livy.models.statements import StatementTarget

__all__ = ["HighConcurrencySession"]

_HC_FIELDS = {"id", "state", "sessionId", "replId", "sessionTag", "fabricSessionStateInfo",
              "workspaceId", "artifactId", "creatorId", "createdAt"}


@dataclass(frozen=True)
class HighConcurrencySession:
    """A Fabric high-concurrency session: one REPL (``repl_id``) inside a shared Spark session."""

    id: str
    state: HighConcurrencyState = HighConcurrencyState.UNKNOWN
    session_id: str | None = None
    repl_id: str | None = None
    session_tag: str | None = None
    fabric_state: FabricAcquisitionState | None = None
    fabric_error_message: str | None = None
    workspace_id: str | None = None
    artifact_id: str | None = None
    created_at: str | None = None
    creator_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "HighConcurrencySession":
        data = p.require_dict(data, "high-concurrency session", url)
        hc_id = p.required_text_id(data, "high-concurrency session", url)
        fabric_state, fabric_error = p.fabric_state_info(data.get("fabricSessionStateInfo"))
        return cls(
            id=hc_id,
            state=HighConcurrencyState(data["state"]) if data.get("state") is not None
            else HighConcurrencyState.UNKNOWN,
            session_id=p.opt_str(data.get("sessionId")) or None,
            repl_id=p.opt_str(data.get("replId")) or None,
            session_tag=p.opt_str(data.get("sessionTag")),
            fabric_state=fabric_state,
            fabric_error_message=fabric_error,
            workspace_id=p.opt_str(data.get("workspaceId")),
            artifact_id=p.opt_str(data.get("artifactId")),
            created_at=p.opt_str(data.get("createdAt")),
            creator_id=p.opt_str(data.get("creatorId")),
            extra=p.extra(data, _HC_FIELDS),
        )

    @property
    def phase(self) -> str:
        if self.fabric_state is not None and self.state in (
                HighConcurrencyState.NOT_STARTED, HighConcurrencyState.ACQUIRING,
                HighConcurrencyState.UNKNOWN):
            return str(self.fabric_state)
        return str(self.state)

    @property
    def is_ready(self) -> bool:
        return self.state is HighConcurrencyState.IDLE and bool(self.session_id and self.repl_id)

    @property
    def has_ended(self) -> bool:
        """True when the REPL is gone for good (dead, killed, being deleted)."""
        return self.state in HC_ENDED_STATES

    @property
    def has_failed(self) -> bool:
        return self.state in HC_FAILED_STATES or self.fabric_state in (
            FabricAcquisitionState.ERROR, FabricAcquisitionState.CANCELLED)

    @property
    def target(self) -> StatementTarget:
        """Statement target of this REPL; only valid once ``is_ready``."""
        if not (self.session_id and self.repl_id):
            raise ValueError(f"High-concurrency session {self.id} has no REPL yet (state {self.state}).")
        return StatementTarget(self.session_id, self.repl_id)
