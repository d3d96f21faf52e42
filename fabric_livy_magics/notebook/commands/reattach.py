"""Re-attach after a kernel restart: the notebook's sessions are remembered (``livy/session_memory``)
and the first use of a name after a restart takes the still-live session instead of a new start.

``FABRIC_LIVY_REATTACH``: ``ask`` (default) and ``always`` re-attach and say so in one line with
the way to a fresh session (``%livy restart``): a cell that runs cannot wait for a button, so
"ask" is this line; ``never`` never re-attaches, and a restart then deletes the session as a
shutdown does. A remembered session found ended, unknown to its server, or whose server no longer
answers is forgotten without a word.

Which notebook: the file the frontend names (VS Code ``__vsc_ipynb_file__``, Jupyter Server
``JPY_SESSION_NAME``), else the kernel's working directory.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from fabric_livy_magics.errors import LivyError
from fabric_livy_magics.livy.lifecycle import ManagedSession
from fabric_livy_magics.livy.session_memory import RememberedSession, SessionMemory
from fabric_livy_magics.livy.settings import env_text
from fabric_livy_magics.livy.targets import SessionOptions, Target
from fabric_livy_magics.notebook.commands.export import notebook_path

__all__ = ["POLICIES", "Reattacher", "reattach_policy"]

log = logging.getLogger(__name__)

POLICIES = ("ask", "always", "never")
_ENV = "FABRIC_LIVY_REATTACH"
#: A probe of a remembered session must not hold up a cell for long.
_PROBE_TIMEOUT = (3.0, 10.0)


def reattach_policy() -> str:
    """``FABRIC_LIVY_REATTACH`` (ask, always, never); anything else reads as ``ask``."""
    value = env_text((_ENV,), "ask").lower()
    return value if value in POLICIES else "ask"


def _label(name: str) -> str:
    return f"Session {name!r}: r" if name else "R"


class Reattacher:
    """The memory of one notebook (one shell), and the re-attach rules."""

    def __init__(self, shell: Any, memory: SessionMemory | None = None) -> None:
        self.shell = shell
        self.memory = memory or SessionMemory()

    def key(self) -> str:
        """The notebook's file where the frontend names it, else the working directory."""
        try:
            path = notebook_path(self.shell)
        except Exception:  # noqa: BLE001 - a frontend variable of an odd type: use the folder
            path = None
        return f"file:{path}" if path is not None else f"cwd:{os.getcwd()}"

    @property
    def enabled(self) -> bool:
        return reattach_policy() != "never"

    def remembered_names(self) -> list[str]:
        return self.memory.names(self.key()) if self.enabled else []

    def quietly_restorable(self, name: str) -> bool:
        """True when ``name`` is remembered with a sign-in that never prompts (a kernel's
        start-up re-attaches only those: a prompt there would be seen by nobody)."""
        entry = self._recall(self.key(), name) if self.enabled else None
        return entry is not None and entry.auth_method not in ("interactive", "device-code", "local-token")

    def _alive(self, entry: RememberedSession, target: Target) -> bool:
        """One GET: is the remembered session still there and able to run code?"""
        from fabric_livy_magics.livy.client import LivyClient

        try:
            with LivyClient(target.endpoint, target.token_provider, timeout=_PROBE_TIMEOUT) as client:
                found = client.get_session(client.endpoint.parse_session_id(entry.session_id))
        except LivyError as exc:  # gone, or its server no longer answers
            log.info("Remembered session %s is not usable: %s", entry.session_id, exc)
            return False
        return not found.has_failed

    def restore_target(self, name: str, signed_in: Any) -> tuple[Target, SessionOptions] | None:
        """Where ``name``'s remembered session runs, if it still runs; else None (and forgotten)."""
        if not self.enabled:
            return None
        entry = self._recall(self.key(), name)
        if entry is None or entry.auth_method == "local-token":
            return None  # an embedded server's token is not remembered: the default finds it
        from fabric_livy_magics.livy.endpoints import endpoint_from_url
        from fabric_livy_magics.livy.targets import build_target

        try:
            target = build_target(endpoint_from_url(entry.url), entry.auth_method, signed_in=signed_in)
        except LivyError:
            self.memory.forget(self.key(), name)
            return None
        if not self._alive(entry, target):
            self.memory.forget(self.key(), name)
            return None
        return target, SessionOptions(kind=entry.kind, keep=entry.keep)

    def resume(self, name: str, session: ManagedSession) -> str | None:
        """Attach ``session`` (not started yet) to ``name``'s remembered session if it is on the
        same server and still live; the one-line note to show, else None."""
        if not self.enabled or session.started:
            return None
        key = self.key()
        entry = self._recall(key, name)
        if entry is None or entry.url != session.client.endpoint.root:
            return None
        try:
            found = session.client.get_session(session.client.endpoint.parse_session_id(entry.session_id))
            if found.has_failed:
                raise LivyError(f"session {found.id} is {found.phase}")
            attached = session.attach(found.id, owned=entry.owned)
        except LivyError as exc:
            log.info("Not re-attaching to session %s: %s", entry.session_id, exc)
            self.memory.forget(key, name)
            return None
        return (f"{_label(name)}e-attached to session {attached.id} ({attached.phase}), left running by this "
                "notebook's previous kernel: its variables are still there. `%livy restart"
                f"{' -s ' + name if name else ''}` starts a fresh one.")

    def sync(self, name: str, session: ManagedSession | None, auth_method: str | None) -> None:
        """Remember the session ``name`` holds now, or forget it when it holds none."""
        key = self.key()
        if session is None or not session.started or session.high_concurrency_id is not None:
            self.memory.forget(key, name)  # high-concurrency REPLs are not re-attached
            return
        entry = RememberedSession(url=session.client.endpoint.root, session_id=str(session.session_id),
                                  kind=session.options.kind, auth_method=auth_method,
                                  keep=session.options.keep, owned=session.owned, holder_pid=os.getpid())
        current = self.memory.recall(key, name)
        if current is None or (current.url, current.session_id, current.owned, current.holder_pid) != (
                entry.url, entry.session_id, entry.owned, entry.holder_pid):
            self.memory.remember(key, name, entry)

    def forget(self, name: str) -> None:
        self.memory.forget(self.key(), name)

    def _recall(self, key: str, name: str) -> RememberedSession | None:
        """The remembered session, unless another live kernel holds it (two notebooks in one
        folder, or two consoles, share a key): it is theirs, not left over."""
        entry = self.memory.recall(key, name)
        if entry is None or entry.holder_pid in (0, os.getpid()) or not _process_alive(entry.holder_pid):
            return entry
        return None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (another user's): not ours to take
    return True
