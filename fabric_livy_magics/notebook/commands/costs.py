"""What a Fabric session costs, said where it matters: once after a start slower than a
starter-pool start (its phases and why), and a note when an idle session without keep-alive is
15 of its 20 minutes in (billed meanwhile, about to end). The rules are in ``livy/starting.py``
and ``livy/session_info.py``; this module decides when a notebook shows them.
"""

from __future__ import annotations

import threading
from typing import Any

from fabric_livy_magics.errors import LivyError
from fabric_livy_magics.livy.session_info import IDLE_NOTE_MINUTES, idle_note
from fabric_livy_magics.livy.starting import start_cost_note, start_cost_reasons

__all__ = ["arm_idle_note", "start_note"]


def start_note(slot: Any) -> str | None:
    """One line after a slow Fabric start this notebook made; None for a fast one (or Livy)."""
    session, target = slot.session, slot.target
    clock = getattr(session, "start_phases", None)
    if session is None or target is None or not target.is_fabric or clock is None or not session.owned:
        return None
    if start_cost_note(session.session_id, clock, ()) is None:
        return None  # fast enough: ask the server nothing
    try:
        answer = session.refresh()
    except LivyError:
        answer = None
    reasons = start_cost_reasons(answer, conf=session.options.conf, environment_id=session.options.environment_id,
                                 phases=[phase for phase, _ in clock.phases()])
    return start_cost_note(session.session_id, clock, reasons)


def arm_idle_note(slot: Any, settings: Any) -> None:
    """(Re)start the timer that, after 15 idle minutes on Fabric without keep-alive, prints the
    note under the last cell's output. Any later cell or command re-arms it."""
    if slot.idle_timer is not None:
        slot.idle_timer.cancel()
        slot.idle_timer = None
    session, target = slot.session, slot.target
    if session is None or target is None or not target.is_fabric or settings.keepalive_interval > 0:
        return
    session_id = session.session_id

    def fire() -> None:
        if slot.session is session and session.started and session.session_id == session_id:
            print(idle_note(session_id, IDLE_NOTE_MINUTES * 60, keepalive=False, is_fabric=True))

    timer = threading.Timer(IDLE_NOTE_MINUTES * 60, fire)
    timer.daemon = True
    timer.start()
    slot.idle_timer = timer
