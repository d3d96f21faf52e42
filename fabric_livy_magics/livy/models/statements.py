"""Statements: a snapshot of one, its output, and where statements are sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fabric_livy_magics.errors import StatementCancelled, StatementFailed
from fabric_livy_magics.livy.models import _parse as p
from fabric_livy_magics.livy.models._parse import SessionId
from fabric_livy_magics.livy.models.states import STATEMENT_FINISHED_STATES, StatementState

__all__ = ["StatementOutput", "Output", "Statement", "StatementTarget"]


@dataclass(frozen=True)
class StatementOutput:
    """A statement's result: ``data`` is a MIME map on success; ename/evalue/traceback on error."""

    status: str | None = None
    execution_count: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    ename: str | None = None
    evalue: str | None = None
    traceback: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "StatementOutput":
        data = p.require_dict(data, "statement output", url)
        return cls(
            status=p.opt_str(data.get("status")),
            execution_count=p.opt_int(data.get("execution_count")),
            data=p.as_dict(data.get("data")),
            ename=p.opt_str(data.get("ename")),
            evalue=p.opt_str(data.get("evalue")),
            traceback=p.str_list(data.get("traceback")),
            extra=p.extra(data, {"status", "execution_count", "data", "ename", "evalue",
                                 "traceback"}),
        )

    @property
    def ok(self) -> bool:
        return (self.status or "ok").lower() == "ok" and self.ename is None

    @property
    def text(self) -> str | None:
        """The ``text/plain`` part, which is what most statements print."""
        value = self.data.get("text/plain")
        return value if isinstance(value, str) or value is None else str(value)

    def raise_for_status(self) -> None:
        """Raise :class:`StatementFailed` with the remote ename/evalue/traceback on error."""
        if not self.ok:
            raise StatementFailed(self.ename or "Error", self.evalue or "", list(self.traceback))


#: pylivy's name for the same thing.
Output = StatementOutput

_STATEMENT_FIELDS = {"id", "code", "state", "output", "progress", "started", "completed", "sourceId"}


@dataclass(frozen=True)
class Statement:
    """A snapshot of one statement. ``started``/``completed`` are epoch milliseconds (Livy)."""

    id: int
    state: StatementState = StatementState.UNKNOWN
    code: str | None = None
    output: StatementOutput | None = None
    progress: float | None = None
    started: int | None = None
    completed: int | None = None
    source_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, url: str | None = None) -> "Statement":
        data = p.require_dict(data, "statement", url)
        statement_id = p.opt_int(data.get("id"))
        if statement_id is None:
            raise p.missing("id", "statement", url)
        output = data.get("output")
        progress = data.get("progress")
        return cls(
            id=statement_id,
            state=StatementState(data["state"]) if data.get("state") is not None
            else StatementState.UNKNOWN,
            code=p.opt_str(data.get("code")),
            output=StatementOutput.from_json(output, url) if isinstance(output, dict) else None,
            progress=p.opt_fraction(progress),
            started=p.opt_int(data.get("started")) or None,
            completed=p.opt_int(data.get("completed")) or None,
            source_id=p.opt_str(data.get("sourceId")),
            extra=p.extra(data, _STATEMENT_FIELDS),
        )

    @property
    def is_finished(self) -> bool:
        return self.state in STATEMENT_FINISHED_STATES

    def raise_for_status(self) -> None:
        """Raise if the statement was cancelled or its code failed; return quietly otherwise."""
        if self.state is StatementState.CANCELLED:
            raise StatementCancelled(f"Statement {self.id} was cancelled.")
        if self.output is not None:
            self.output.raise_for_status()
        elif self.state is StatementState.ERROR:
            raise StatementFailed("Error", f"statement {self.id} failed without an output")


@dataclass(frozen=True)
class StatementTarget:
    """Where statements go: a plain session, or one REPL of a high-concurrency session."""

    session_id: SessionId
    repl_id: str | None = None

    @property
    def is_repl(self) -> bool:
        return self.repl_id is not None

    def __str__(self) -> str:
        return f"{self.session_id}/repl {self.repl_id}" if self.repl_id else str(self.session_id)
