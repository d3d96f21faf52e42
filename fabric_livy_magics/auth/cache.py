"""The persistent MSAL token cache: sign in once per machine, not once per kernel.

Storage, best first (msal-extensions does the storing and the cross-process file lock):

* the OS secret store when it works: DPAPI-encrypted file on Windows, Keychain on macOS, libsecret
  on Linux. On Linux, msal-extensions needs PyGObject, ``gir1.2-secret-1`` and a running, unlocked
  keyring on a D-Bus session; on servers, containers and SSH sessions its ``trial_run`` raises (or
  may wait for an unlock prompt), so we only try it with a D-Bus session present and give it a few
  seconds in a background thread;
* otherwise a plain JSON file readable only by its owner (file 0600, folder 0700), with a plain
  note saying so once per process (a note, not a Python warning: a person needs the sentence,
  not the source line that raised it).

A cache that cannot be read or written (read-only home, stale lock, keyring gone) must not break
sign-in: the cache notes it once and carries on in memory for the rest of the process.
"""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["default_cache_path", "open_token_cache", "memory_token_cache"]

_KEYRING_TRIAL_SECONDS = 5.0


#: Notes already shown in this process: each is said once.
_NOTED: set[str] = set()
_NOTED_LOCK = threading.Lock()


def default_cache_path(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if sys.platform.startswith("win") and env.get("LOCALAPPDATA"):
        base = Path(env["LOCALAPPDATA"])
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "fabric-livy-magics" / "msal_token_cache.json"


def memory_token_cache() -> Any:
    """A cache that lives as long as the process (``token_cache_enabled = False``)."""
    import msal

    return msal.SerializableTokenCache()


def open_token_cache(path: str | os.PathLike[str] | None = None, *, encrypt: bool = True) -> Any:
    """An ``msal.SerializableTokenCache`` persisted at ``path`` (default: :func:`default_cache_path`).

    Never raises because of the store: falls back to a 0600 file, then to memory, noting it once.
    """
    location = Path(path).expanduser() if path else default_cache_path()
    try:
        _private_dir(location.parent)
    except OSError as exc:
        _warn(f"Token cache folder {location.parent} is not usable ({exc.strerror}); tokens are kept "
              "in memory until the kernel stops. Set FABRIC_LIVY_TOKEN_CACHE to a writable file.")
        return memory_token_cache()
    persistence = _encrypted_persistence(location) if encrypt else None
    if persistence is None:
        persistence = _private_file_persistence()(str(location))
        if encrypt:
            _warn(f"No OS keyring is available, so the token cache is a plain file readable only by "
                  f"you (mode 0600): {location}.")
    return _guarded_cache_class()(persistence)


def _warn(message: str) -> None:
    """Tell the person once, in one plain line on stderr: the cache is weaker than hoped."""
    with _NOTED_LOCK:
        if message in _NOTED:
            return
        _NOTED.add(message)
    print(f"Note: {message}", file=sys.stderr)


def _private_dir(folder: Path) -> None:
    existed = folder.exists()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not existed and os.name == "posix":
        os.chmod(folder, 0o700)


def _encrypted_persistence(location: Path) -> Any | None:
    """The OS-encrypted store, or None when it is not there or does not answer in time."""
    from msal_extensions import persistence as ext

    if sys.platform.startswith("win"):
        builder: Any = ext.FilePersistenceWithDataProtection
    elif sys.platform == "darwin":
        builder = ext.KeychainPersistence
    elif sys.platform.startswith("linux"):
        if importlib.util.find_spec("gi") is None or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            return None  # no PyGObject or no session bus: libsecret cannot work here
        builder = ext.LibsecretPersistence
    else:
        return None
    outcome: dict[str, Any] = {}

    def attempt() -> None:
        try:
            outcome["value"] = builder(str(location))
        except Exception as exc:  # ImportError, RuntimeError, GLib.Error: all mean "not here"
            outcome["error"] = exc

    # libsecret's trial run can block on an unlock prompt nobody sees: bound the wait.
    worker = threading.Thread(target=attempt, name="token-cache-keyring-probe", daemon=True)
    worker.start()
    worker.join(_KEYRING_TRIAL_SECONDS)
    return outcome.get("value")


@lru_cache(maxsize=1)
def _private_file_persistence() -> type:
    from msal_extensions.persistence import FilePersistence

    class PrivateFilePersistence(FilePersistence):
        """msal-extensions' file persistence, kept at 0600 even if the file existed before."""

        def __init__(self, location: str) -> None:
            super().__init__(location)
            self._tighten()

        def save(self, content: str) -> None:
            super().save(content)
            self._tighten()

        def _tighten(self) -> None:
            if os.name != "posix":
                return
            try:
                mode = stat.S_IMODE(os.stat(self.get_location()).st_mode)
            except FileNotFoundError:
                return
            if mode != 0o600:
                os.chmod(self.get_location(), 0o600)

    return PrivateFilePersistence


@lru_cache(maxsize=1)
def _guarded_cache_class() -> type:
    import msal
    from msal_extensions import PersistedTokenCache

    class GuardedTokenCache(PersistedTokenCache):
        """A persisted cache that degrades to memory instead of failing a sign-in."""

        def __init__(self, persistence: Any) -> None:
            super().__init__(persistence)
            self.location = persistence.get_location()
            self.degraded_reason: str | None = None

        def _degrade(self, exc: Exception) -> None:
            if self.degraded_reason is None:
                self.degraded_reason = f"{type(exc).__name__}: {exc}"
                _warn(f"The token cache at {self.location} cannot be used ({type(exc).__name__}); "
                      "tokens are kept in memory until the kernel stops.")

        def modify(self, credential_type: Any, old_entry: Any, new_key_value_pairs: Any = None
                   ) -> None:
            if self.degraded_reason is None:
                try:
                    return super().modify(credential_type, old_entry, new_key_value_pairs)
                except Exception as exc:  # store trouble must not fail the sign-in
                    self._degrade(exc)
            # The in-memory change is idempotent (set or pop by key): safe to repeat.
            msal.SerializableTokenCache.modify(self, credential_type, old_entry, new_key_value_pairs)

        def search(self, credential_type: Any, **kwargs: Any) -> Any:
            if self.degraded_reason is None:
                try:
                    return list(super().search(credential_type, **kwargs))
                except Exception as exc:
                    self._degrade(exc)
            return msal.SerializableTokenCache.search(self, credential_type, **kwargs)

    return GuardedTokenCache
