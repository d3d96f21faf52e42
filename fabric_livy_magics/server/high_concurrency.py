"""Fabric's high-concurrency sessions: REPLs in Spark sessions shared by ``sessionTag``.

Each high-concurrency session is one REPL (its own namespace and statement numbers) in an
interactive session of the registry. Requests with the same ``sessionTag`` share a session until
it holds ``REPLS_PER_SESSION`` of them (Fabric packs a few notebooks per Spark application); an
untagged request gets a session of its own. Deleting the last one deletes the session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fabric_livy_magics.server.errors import ApiError
from fabric_livy_magics.server.ids import shown_ref
from fabric_livy_magics.server.lifecycle import iso_now
from fabric_livy_magics.server.sessions import Registry, Session

__all__ = ["HCSession", "HighConcurrencySessions"]

REPLS_PER_SESSION = 5


@dataclass
class HCSession:
    """A high-concurrency session: one REPL in a Spark session shared by ``sessionTag``."""

    id: str
    session: Session
    repl_id: str
    tag: str | None
    created: str
    deleting: bool = False


class HighConcurrencySessions:
    """High-concurrency sessions over a :class:`Registry`, under the registry's lock."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._lock = registry.lock
        self._hc: dict[str, HCSession] = {}
        registry.on_delete.append(self._forget_session)

    def create(self, spec: dict[str, Any], tag: str | None) -> HCSession:
        """A new REPL in a live session with this tag and room left, else in a new session."""
        with self._lock:
            session = self._shared_session(tag) if tag is not None else None
            if session is None:
                session = self.registry.create_session(spec, hc_tag=tag if tag is not None else uuid.uuid4().hex)
            repl_id = str(uuid.uuid4())
            self.registry.add_repl(session, repl_id)
            hc = HCSession(id=str(uuid.uuid4()), session=session, repl_id=repl_id, tag=tag, created=iso_now())
            self._hc[hc.id] = hc
            return hc

    def get(self, hc_id: str) -> HCSession:
        with self._lock:
            hc = self._hc.get(hc_id.lower())
        if hc is None:
            raise ApiError(404, f"High concurrency session '{shown_ref(hc_id)}' not found.", "SessionNotFound")
        return hc

    def delete(self, hc: HCSession) -> None:
        """Drop the REPL (its waiting statements are cancelled); the last one takes its session along."""
        with self._lock:
            if self._hc.pop(hc.id, None) is None:
                raise ApiError(404, f"High concurrency session '{hc.id}' not found.", "SessionNotFound")
            hc.deleting = True
            session = hc.session
            last = not any(h.session is session for h in self._hc.values())
            self.registry.drop_repl(session, hc.repl_id, in_process=not last)
        if last and self.registry.registered(session):
            self.registry.delete(session)

    def _shared_session(self, tag: str) -> Session | None:
        for session in self.registry.list():
            repls = sum(1 for h in self._hc.values() if h.session is session)
            if session.hc_tag == tag and not session.ended and session.state != "shutting_down" and repls < REPLS_PER_SESSION:
                return session
        return None

    def _forget_session(self, session: Session) -> None:
        """Registry hook (lock held): a deleted session takes its high-concurrency sessions along."""
        for hc_id in [k for k, v in self._hc.items() if v.session is session]:
            del self._hc[hc_id]
