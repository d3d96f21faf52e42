"""What one notebook (one IPython shell) remembers: where to run, how, and its session.

Nothing here talks to a server on its own: the session is built on demand and created remotely
only when a cell first needs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fabric_livy_magics.livy.targets import SessionOptions, Target
from fabric_livy_magics.notebook.settings import MagicSettings
from fabric_livy_magics.livy.lifecycle import ManagedSession

__all__ = ["NotebookState"]

log = logging.getLogger(__name__)


class NotebookState:
    """Per-shell state. ``settings()`` returns the current trait values as a frozen snapshot."""

    def __init__(self, shell: Any, settings: Callable[[], MagicSettings],
                 default_target: Callable[[NotebookState], tuple[Target, SessionOptions]]) -> None:
        self.shell = shell
        self.settings = settings
        #: Where cells run when nobody connected (``commands/connect.default_target``).
        self._default_target = default_target
        self.target: Target | None = None
        self.options: SessionOptions | None = None
        self.session: ManagedSession | None = None
        #: Set by ``%livy login``: used for Fabric (and non-loopback) targets from then on.
        self.signed_in: Any = None
        #: A local server this kernel started (stopped at shutdown).
        self.started_server: Any = None

    def set_target(self, target: Target, options: SessionOptions) -> None:
        """Switch where sessions run; the old session (if any) is stopped unless kept."""
        self.close_session()
        self.target, self.options = target, options

    def ensure_target(self) -> tuple[Target, SessionOptions]:
        """The connected target, or the configured default (env vars, else the local server)."""
        if self.target is None or self.options is None:
            target, options = self._default_target(self)
            self.target, self.options = target, options
        return self.target, self.options

    def get_session(self) -> ManagedSession:
        """The notebook's session object (the remote session itself starts on first use)."""
        if self.session is None:
            from fabric_livy_magics.livy.client import LivyClient

            target, options = self.ensure_target()
            settings = self.settings()
            client = LivyClient(target.endpoint, target.token_provider)
            self.session = ManagedSession(
                client, options, start_timeout=settings.session_start_timeout or None,
                keepalive_interval=settings.keepalive_interval,
                progress=_progress_factory(settings.progress_delay))
        return self.session

    def close_session(self) -> None:
        """Delete the session unless kept, stop its keep-alive, close its connections."""
        session, self.session = self.session, None
        if session is not None:
            session.close()
            session.client.close()

    def shutdown(self) -> None:
        """Kernel exit or ``%unload_ext``: session first, then a server this kernel started."""
        self.close_session()
        server, self.started_server = self.started_server, None
        if server is not None:
            try:
                server.stop()
            except Exception as exc:  # noqa: BLE001 - exiting: never fail the exit
                log.warning("Could not stop the local server: %s", exc)


def _progress_factory(delay: float) -> Callable[[str], Any]:
    from fabric_livy_magics.notebook.progress import ProgressDisplay

    return lambda label: ProgressDisplay(label, delay=delay)
