"""Batch jobs (Livy ``/batches``, Fabric ``BatchResponse``): a snapshot each, and pages of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fabric_livy_magics.livy.models import _parse as p
from fabric_livy_magics.livy.models._parse import ErrorInfo, SessionId
from fabric_livy_magics.livy.models.states import (
    BATCH_ENDED_STATES,
    BATCH_RESULTS,
    FABRIC_FAILED_STATES,
    BatchState,
    FabricAcquisitionState,
)

__all__ = ["Batch", "BatchPage"]

_BATCH_FIELDS = p.JOB_FIELDS | {"state", "livyState", "owner", "proxyUser",
                                "fabricBatchStateInfo", "result", "cancellationReason"}


@dataclass(frozen=True)
class Batch:
    """A snapshot of a batch job (Livy ``/batches`` or Fabric ``BatchResponse`` / list item)."""

    id: SessionId
    state: BatchState = BatchState.UNKNOWN
    name: str | None = None
    app_id: str | None = None
    app_info: dict[str, Any] = field(default_factory=dict)
    log: tuple[str, ...] = field(default=(), repr=False)
    fabric_state: FabricAcquisitionState | None = None
    fabric_error_message: str | None = None
    livy_info: dict[str, Any] = field(default_factory=dict)
    error_info: tuple[ErrorInfo, ...] = ()
    result: str | None = None
    cancellation_reason: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    submitter_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "Batch":
        data = p.require_dict(data, "batch", url)
        batch_id = p.required_id(data, "batch", url)
        common = p.job_fields(data, fabric_key="fabricBatchStateInfo")
        # Fabric's list items carry livyState; early polls may have only livyInfo.currentState.
        raw_state = (data.get("state") or data.get("livyState")
                     or common["livy_info"].get("currentState"))
        result = p.opt_str(data.get("result"))
        return cls(
            id=batch_id,
            state=BatchState(raw_state) if raw_state else BatchState.UNKNOWN,
            result=BATCH_RESULTS.get(result.lower(), result) if result else None,
            cancellation_reason=p.opt_str(data.get("cancellationReason")),
            extra=p.extra(data, _BATCH_FIELDS),
            **common,
        )

    @property
    def is_finished(self) -> bool:
        """Ended one way or another: a final Livy state, a final Fabric result, or refused."""
        return (self.state in BATCH_ENDED_STATES or self.result in BATCH_RESULTS.values()
                or (self.fabric_state in FABRIC_FAILED_STATES
                    and self.fabric_state is not FabricAcquisitionState.CANCELLING
                    and self.state not in (BatchState.RUNNING,)))

    @property
    def succeeded(self) -> bool:
        return self.state is BatchState.SUCCESS or self.result == "Succeeded"

    @property
    def phase(self) -> str:
        """What a person should see: Fabric's acquisition phase while queued, else the state."""
        if (self.fabric_state is not None and self.fabric_state is not FabricAcquisitionState.UNKNOWN
                and self.state in (BatchState.NOT_STARTED, BatchState.STARTING,
                                   BatchState.SUBMITTING, BatchState.UNKNOWN)):
            return str(self.fabric_state)
        if self.state is BatchState.UNKNOWN and self.result:
            return self.result.lower()
        return str(self.state)

    @property
    def error_message(self) -> str | None:
        """The most specific error text the server gave, if any, else why it was cancelled."""
        return p.first_error(self.fabric_error_message, self.error_info) or self.cancellation_reason


@dataclass(frozen=True)
class BatchPage:
    """One page of ``GET batches``: Livy's ``{from, total, sessions}`` or Fabric's ``{items}``."""

    batches: tuple[Batch, ...]
    start: int = 0
    total: int | None = None

    @classmethod
    def from_json(cls, data: Any, url: str | None = None, start: int = 0) -> "BatchPage":
        data = p.require_dict(data, "batch list", url)
        items = p.page_items(data, ("sessions", "batches", "items", "value"), "batch list", url)
        start, total = p.page_position(data, start)
        return cls(batches=tuple(Batch.from_json(item, url) for item in items),
                   start=start, total=total)
