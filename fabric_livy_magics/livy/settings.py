"""Settings read from the environment, and how to show a setting without leaking a secret.

Each front end (the magics, the command line) reads the same variables through these helpers, so
a value means the same everywhere.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SETTINGS", "Setting", "env_bool", "env_float", "env_int", "looks_secret", "mask", "set_settings"]

_SECRET_WORDS = re.compile(
    r"(secret|password|passwd|pwd|token|credential|sas|apikey|api_key|private|signature|"
    r"account\.key|accountkey|access_?key|(?:^|[._-])key$)",
    re.IGNORECASE)


def looks_secret(name: str) -> bool:
    """True for setting names that usually hold a secret (``...password``, ``...token``)."""
    return bool(_SECRET_WORDS.search(name))


def mask(name: str, value: Any) -> str:
    """``value`` as text, or ``****`` when ``name`` looks like a secret."""
    if value is None:
        return "-"
    return "****" if looks_secret(name) else str(value)


def env_float(names: tuple[str, ...], default: float) -> float:
    """The first of ``names`` set in the environment as a float; ``default`` if none, unreadable
    or not finite (``nan``, ``inf``, ``1e400`` would break every wait and every row count)."""
    for name in names:
        raw = os.environ.get(name, "").strip()
        if raw:
            try:
                value = float(raw)
            except ValueError:
                return default
            return value if math.isfinite(value) else default
    return default


def env_int(names: tuple[str, ...], default: int) -> int:
    value = env_float(names, float(default))
    return int(value)


def env_bool(names: tuple[str, ...], default: bool) -> bool:
    for name in names:
        raw = os.environ.get(name, "").strip().lower()
        if raw:
            return raw in ("1", "true", "yes", "on")
    return default


@dataclass(frozen=True)
class Setting:
    """One environment variable the package reads: what it sets, and whether it holds a secret."""

    name: str
    meaning: str
    secret: bool = False


#: Every environment variable the client side reads, in one place: ``%livy config`` lists those
#: set, the README's tables follow it, and a test checks that the code reads no other.
SETTINGS: tuple[Setting, ...] = (
    Setting("FABRIC_LIVY_CONNECTION_STRING", "Fabric lakehouse 'Session job connection string'"),
    Setting("FABRIC_WORKSPACE_ID", "Fabric workspace id (with FABRIC_LAKEHOUSE_ID)"),
    Setting("FABRIC_LAKEHOUSE_ID", "Fabric lakehouse id (with FABRIC_WORKSPACE_ID)"),
    Setting("FABRIC_ENVIRONMENT_ID", "Fabric Environment sessions run in"),
    Setting("FABRIC_LIVY_URL", "an Apache Livy (or local) server URL"),
    Setting("LIVY_URL", "an Apache Livy server URL (after FABRIC_LIVY_URL)"),
    Setting("FABRIC_LIVY_CONFIG", "the config file (default ~/.config/fabric-livy/config.toml)"),
    Setting("FABRIC_LIVY_AUTH_METHOD", "sign-in method"),
    Setting("FABRIC_LIVY_SCOPES", "delegated scopes to ask for, space-separated"),
    Setting("FABRIC_LIVY_TOKEN_CACHE", "token cache file"),
    Setting("FABRIC_LIVY_TOKEN_ENV_VAR", "variable the 'environment' sign-in reads"),
    Setting("FABRIC_ACCESS_TOKEN", "a ready token for the 'environment' sign-in", secret=True),
    Setting("AZURE_TENANT_ID", "Entra tenant"),
    Setting("AZURE_CLIENT_ID", "application (client) id"),
    Setting("AZURE_CLIENT_SECRET", "service principal secret", secret=True),
    Setting("AZURE_CLIENT_CERTIFICATE_PATH", "service principal certificate (PEM)"),
    Setting("AZURE_CLIENT_CERTIFICATE_PASSWORD", "its password", secret=True),
    Setting("AZURE_AUTHORITY_HOST", "Entra authority host (sovereign clouds)"),
    Setting("FABRIC_LIVY_KIND", "LivyMagics.default_kind"),
    Setting("FABRIC_LIVY_MAXROWS", "LivyMagics.maxrows"),
    Setting("FABRIC_LIVY_STATEMENT_TIMEOUT", "LivyMagics.statement_timeout"),
    Setting("FABRIC_LIVY_START_TIMEOUT", "LivyMagics.session_start_timeout"),
    Setting("FABRIC_LIVY_KEEPALIVE_INTERVAL", "LivyMagics.keepalive_interval"),
    Setting("FABRIC_LIVY_AUTO_LOCAL", "LivyMagics.auto_local"),
    Setting("FABRIC_LIVY_LOCAL_MASTER", "LivyMagics.local_master"),
    Setting("FABRIC_LIVY_SERVE_TOKEN", "fabric-livy serve's shared secret", secret=True),
)


def set_settings(environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(name, shown value) of each registered variable that is set, secrets masked."""
    env = os.environ if environ is None else environ
    return [(s.name, "****" if s.secret else mask(s.name, env[s.name])) for s in SETTINGS if env.get(s.name)]
