"""``fabric-livy serve --idle-exit DURATION``: a server that stops itself once nobody uses it.

The notebook's shared local server (``launcher.start_shared_server``) outlives the kernel that
started it; it ends on its own after ``DURATION`` with no request and nothing running: no live
session and no other child process than the pre-started ones of the pool (a batch's
``spark-submit`` is one).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable

import psutil
from starlette.types import ASGIApp, Receive, Scope, Send

from fabric_livy_magics.server.sessions import Registry

__all__ = ["Activity", "exit_when_idle"]


class Activity:
    """The ASGI app wrapped to note when the last request ended (none running counts as idle)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last = time.monotonic()
        self.open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.open += 1
        self.last = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
            self.last = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.open else time.monotonic() - self.last


def _working(registry: Registry) -> bool:
    """A live session, or a child process that is not a pre-started one (a batch)."""
    if any(not session.ended for session in registry.list()):
        return True
    try:
        children = psutil.Process().children()
    except psutil.Error:
        return False
    for child in children:
        try:
            if "--pool-slot" not in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                return True
        except psutil.Error:
            continue
    return False


async def exit_when_idle(activity: Activity, registry: Registry, seconds: float, stop: Callable[[], None]) -> None:
    """Call ``stop`` once ``seconds`` passed with no request and nothing running."""
    while True:
        await asyncio.sleep(min(1.0, max(0.05, seconds / 4)))
        if activity.idle_for() >= seconds and not await asyncio.to_thread(_working, registry):
            print(f"fabric-livy serve: no session and no request for {seconds:g} s (--idle-exit): stopping.",
                  file=sys.stderr, flush=True)
            stop()
            return
