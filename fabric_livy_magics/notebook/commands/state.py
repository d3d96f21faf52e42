"""What one notebook (one IPython shell) remembers: its sessions by name, where each runs and how.

The default session has the empty name; ``%livy connect -s NAME`` adds named ones, and
``using(NAME)`` makes one current for a cell or a command, so everything that reads
``state.target`` / ``state.session`` / ``state.get_session()`` works on that name unchanged.
A session is built on demand and created remotely when a cell first needs it, or right after
``%livy connect`` in the background (``eager.py``). With a ``reattach`` helper
(``reattach.py``), the sessions are remembered across kernel restarts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

from fabric_livy_magics.livy.lifecycle import ManagedSession
from fabric_livy_magics.livy.targets import SessionOptions, Target
from fabric_livy_magics.notebook.commands.eager import BackgroundStart
from fabric_livy_magics.notebook.commands.named import check_name
from fabric_livy_magics.notebook.settings import MagicSettings

__all__ = ["DEFAULT", "NotebookState", "Slot"]

log = logging.getLogger(__name__)

#: The name of the session used without ``-s``.
DEFAULT = ""

#: Sign-in methods that may prompt: never started from a background thread before ``%livy login``.
_PROMPTING = frozenset({"interactive", "device-code"})


@dataclass(eq=False)
class Slot:
    """One name's target, options, session, and its background start if one runs."""

    name: str
    target: Target | None = None
    options: SessionOptions | None = None
    session: ManagedSession | None = None
    starter: BackgroundStart | None = None
    resumed: bool = False  # re-attach was tried for this session object
    reported: Any = None  # the session id last remembered (and whose start note was shown)
    idle_timer: threading.Timer | None = None


class NotebookState:
    """Per-shell state. ``settings()`` returns the current trait values as a frozen snapshot."""

    def __init__(self, shell: Any, settings: Callable[[], MagicSettings],
                 default_target: Callable[[NotebookState], tuple[Target, SessionOptions]],
                 reattach: Any = None) -> None:
        self.shell = shell
        self.settings = settings
        #: Where cells run when nobody connected (``commands/connect.default_target``).
        self._default_target = default_target
        #: Remembers sessions across kernel restarts (``reattach.Reattacher``); None: never.
        self.reattach = reattach
        self._slots: dict[str, Slot] = {DEFAULT: Slot(DEFAULT)}
        self._current = DEFAULT
        #: Set by ``%livy login``: used for Fabric (and non-loopback) targets from then on.
        self.signed_in: Any = None
        #: The shared local server, when this kernel started it (it outlives the kernel: every
        #: kernel of this user uses it, and it stops itself once unused; ``server/shared.py``).
        self.started_server: Any = None

    # --- the current name ---------------------------------------------------------------------

    @property
    def slot(self) -> Slot:
        return self._slots[self._current]

    @property
    def name(self) -> str:
        """The current session's name ('' for the default one)."""
        return self._current

    @property
    def target(self) -> Target | None:
        return self.slot.target

    @target.setter
    def target(self, value: Target | None) -> None:
        self.slot.target = value

    @property
    def options(self) -> SessionOptions | None:
        return self.slot.options

    @options.setter
    def options(self, value: SessionOptions | None) -> None:
        self.slot.options = value

    @property
    def session(self) -> ManagedSession | None:
        return self.slot.session

    def slots(self) -> dict[str, Slot]:
        """Every name this notebook has, the default one ('') included."""
        return dict(self._slots)

    @contextmanager
    def using(self, name: str | None, *, create: bool = False) -> Iterator[Slot]:
        """Make ``name`` current for a cell or command (None: the current one). An unknown name
        is a UsageError unless ``create`` (``%livy connect -s``) or it is remembered from before
        a kernel restart."""
        if name is not None:
            check_name(name)
            if name not in self._slots:
                if not (create or (self.reattach is not None and name in self.reattach.remembered_names())):
                    known = ", ".join(repr(n) for n in self._slots if n) or "none yet"
                    raise UsageError(f"No session named {name!r} in this notebook (named ones: {known}). "
                                     f"`%livy connect -s {name} --url URL` (or --local, --connection-string) "
                                     "makes one.")
                self._slots[name] = Slot(name)
        previous, self._current = self._current, self._current if name is None else name
        slot = self.slot
        try:
            yield slot
        finally:
            self._current = previous if previous in self._slots else DEFAULT
            self._after_use(slot)

    # --- targets and sessions of the current name -------------------------------------------

    def set_target(self, target: Target, options: SessionOptions) -> None:
        """Switch where sessions run; the old session (if any) is stopped unless kept."""
        self.close_session()
        self.slot.target, self.slot.options = target, options

    def ensure_target(self) -> tuple[Target, SessionOptions]:
        """The connected target; else one remembered from before a kernel restart whose session
        still runs; else (the default name only) the configured default."""
        return self._target_for(self.slot)

    def _target_for(self, slot: Slot) -> tuple[Target, SessionOptions]:
        if slot.target is None or slot.options is None:
            restored = self.reattach.restore_target(slot.name, self.signed_in) if self.reattach else None
            if restored is None and slot.name != DEFAULT:
                raise UsageError(f"Session {slot.name!r} is not connected: run `%livy connect -s {slot.name} "
                                 "--url URL` (or --local, --connection-string).")
            slot.target, slot.options = restored or self._default_target(self)
        return slot.target, slot.options

    def get_session(self) -> ManagedSession:
        """The current name's session object (the remote session itself starts on first use,
        or is already starting in the background: then this waits for it, with the phase line)."""
        slot = self.slot
        starter = slot.starter
        if starter is not None and not starter.is_mine():
            from fabric_livy_magics.notebook.progress import ProgressDisplay

            from fabric_livy_magics.errors import StatementCancelled

            try:
                note = starter.wait(ProgressDisplay("Starting Spark session", delay=self.settings().progress_delay))
            except StatementCancelled:
                raise  # still starting: the next cell waits again
            except BaseException:
                slot.starter = None
                raise
            slot.starter = None
            if note:
                print(note)
        self._replace_gone_local_server(slot)
        session, note = self._session_for(slot)
        if note:
            print(note)
        return session

    def _session_for(self, slot: Slot) -> tuple[ManagedSession, str | None]:
        """Build ``slot``'s session object if needed and re-attach it to a remembered session."""
        if slot.session is None:
            from fabric_livy_magics.livy.client import LivyClient

            target, options = self._target_for(slot)  # not via the current name: threads call this
            settings = self.settings()
            slot.session = ManagedSession(
                LivyClient(target.endpoint, target.token_provider), options,
                start_timeout=settings.session_start_timeout or None,
                keepalive_interval=settings.keepalive_interval,
                progress=_progress_factory(slot, settings.progress_delay))
            slot.resumed = False
        note = None
        if not slot.resumed and self.reattach is not None:
            slot.resumed = True
            note = self.reattach.resume(slot.name, slot.session)
        return slot.session, note

    def _replace_gone_local_server(self, slot: Slot) -> None:
        """The local server ``slot`` ran on is gone (it stopped itself once unused, or was killed),
        and its session with it: move to the shared server found or started now; the session
        object is rebuilt on it by ``_session_for``."""
        server = slot.target.local_server if slot.target is not None else None
        if server is None or server.alive():
            return
        from fabric_livy_magics.livy.endpoints import LivyEndpoint
        from fabric_livy_magics.livy.targets import build_target, find_or_start_local_server
        from fabric_livy_magics.server import launcher

        print(f"The local Livy server at {server.url} has stopped, and this notebook's Spark session with it "
              "(its variables are gone); a new one starts now.")
        session, slot.session, slot.resumed, slot.reported = slot.session, None, False, None
        if session is not None:
            try:
                session.stop(force=False)  # forgets it; the delete fails: nothing listens there
            except Exception as exc:  # noqa: BLE001 - the server and the session are gone either way
                log.info("Session on the stopped local server: %s", exc)
            session.client.close()
        if self.reattach is not None:
            self.reattach.forget(slot.name)
        found, started = find_or_start_local_server(launcher, master=self.settings().local_master, say=print)
        if started:
            self.started_server = found
        slot.target = build_target(LivyEndpoint(found.url), None, signed_in=self.signed_in, local_server=found)

    def start_in_background(self) -> bool:
        """Start the current name's session in a background thread (eager start); False when
        it has one already, or when signing in would prompt (a browser or a device code nobody
        would see from a thread): the first cell starts it then. Where it runs is resolved here,
        so a bad target fails now."""
        slot = self.slot
        if slot.starter is not None or (slot.session is not None and slot.session.started):
            return False
        target, _ = self.ensure_target()
        if target.auth_method in _PROMPTING and self.signed_in is None:
            return False

        def open_session() -> tuple[ManagedSession, str | None]:
            session, note = self._session_for(slot)
            session.ensure()
            return session, note

        slot.starter = BackgroundStart(open_session)
        slot.starter.start()
        return True

    def close_session(self) -> None:
        """Delete the session unless kept, stop its keep-alive, close its connections."""
        self._close(self.slot)

    def _close(self, slot: Slot) -> None:
        starter, slot.starter = slot.starter, None
        if starter is not None:
            starter.abandon()
            if starter.running:  # its thread deletes the session once up; the name starts afresh
                if self._slots.get(slot.name) is slot:
                    self._slots[slot.name] = Slot(slot.name, target=slot.target, options=slot.options)
                if self.reattach is not None:
                    self.reattach.forget(slot.name)
                return
        if slot.idle_timer is not None:
            slot.idle_timer.cancel()
        session, slot.session = slot.session, None
        slot.resumed, slot.reported = False, None
        if session is None:
            return
        kept = session.started and session.owned and session.options.keep
        session.close()
        session.client.close()
        if self.reattach is not None and not kept:
            self.reattach.forget(slot.name)

    def shutdown(self, *, restart: bool = False) -> None:
        """Kernel exit or ``%unload_ext``: the sessions. The shared local server stays for the
        other kernels (and stops itself once unused).

        A kernel *restart* leaves the sessions running (and remembered) for the restarted kernel
        to re-attach, unless FABRIC_LIVY_REATTACH=never."""
        keep = restart and self.reattach is not None and self.reattach.enabled
        for slot in list(self._slots.values()):
            session = slot.session
            if keep and session is not None and session.started and session.high_concurrency_id is None:
                self._remember(slot)
                if slot.idle_timer is not None:
                    slot.idle_timer.cancel()
                continue  # the process ends now; its keep-alive thread with it
            try:
                self._close(slot)
            except Exception as exc:  # noqa: BLE001 - exiting: never fail the exit
                log.warning("Could not close session %r: %s", slot.name, exc)
        self._slots, self._current = {DEFAULT: Slot(DEFAULT)}, DEFAULT
        self.started_server = None

    # --- after each cell or command -----------------------------------------------------------

    def _remember(self, slot: Slot) -> None:
        if self.reattach is not None:
            self.reattach.sync(slot.name, slot.session, slot.target.auth_method if slot.target else None)

    def _after_use(self, slot: Slot) -> None:
        """Remember a new session, show a slow start's cost once, arm the idle note. Never raises."""
        try:
            session = slot.session
            if self._slots.get(slot.name) is not slot or session is None or slot.starter is not None:
                return
            current = session.session_id if session.started else None
            if current != slot.reported:
                slot.reported = current
                self._remember(slot)
                if current is not None:
                    from fabric_livy_magics.notebook.commands.costs import start_note

                    note = start_note(slot)
                    if note:
                        print(note)
            if current is not None:
                from fabric_livy_magics.notebook.commands.costs import arm_idle_note

                arm_idle_note(slot, self.settings())
        except Exception as exc:  # noqa: BLE001 - bookkeeping must never fail a cell
            log.info("After-cell bookkeeping of session %r failed: %s", slot.name, exc)


def _progress_factory(slot: Slot, delay: float) -> Callable[[str], Any]:
    """A background start's progress goes to its relay (drawn by the first cell); else a line."""
    from fabric_livy_magics.notebook.progress import ProgressDisplay

    def factory(label: str) -> Any:
        starter = slot.starter
        if starter is not None and starter.is_mine():
            return starter.relay
        return ProgressDisplay(label, delay=delay)

    return factory
