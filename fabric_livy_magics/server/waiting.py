"""``GET .../statements/{id}?wait=MS``: answer when the statement changes, or after MS ms.

Plain polling sees a statement finish up to one poll interval late; with this the client learns of
the change as it happens, at one request per change instead of one per interval. Neither Apache
Livy nor Fabric has it, so the server advertises it in a response header (``WAIT_HEADER``, the
longest wait in ms) and clients use it only where they saw that header.
"""

from __future__ import annotations

import asyncio

from fabric_livy_magics.server.errors import ApiError
from fabric_livy_magics.server.records import Statement

__all__ = ["MAX_WAIT_MS", "WAIT_HEADER", "wait_for_change"]

WAIT_HEADER = "x-livy-statement-wait-max-ms"
MAX_WAIT_MS = 10_000
_FINISHED = frozenset({"available", "error", "cancelled"})


async def wait_for_change(statement: Statement, wait_ms: int) -> None:
    """Return once the statement's state, progress or output changes, it is finished, or
    ``wait_ms`` has passed."""
    if wait_ms > MAX_WAIT_MS:
        raise ApiError(400, f"Query parameter 'wait' must be at most {MAX_WAIT_MS} ms.", "InvalidParameter")
    seen = _snapshot(statement)
    if wait_ms <= 0 or statement.state in _FINISHED:
        return
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()

    def wake() -> None:  # runs on whichever thread changed the statement
        loop.call_soon_threadsafe(changed.set)

    statement.watchers.append(wake)
    try:
        if _snapshot(statement) != seen:  # changed by another thread before ``wake`` was in place
            return
        await asyncio.wait_for(changed.wait(), wait_ms / 1000)
    except TimeoutError:
        pass
    finally:
        statement.watchers.remove(wake)


def _snapshot(statement: Statement) -> tuple[object, ...]:
    return statement.state, statement.progress, id(statement.output)
