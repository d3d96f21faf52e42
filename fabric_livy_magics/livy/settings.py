"""Settings read from the environment and the config file, and how to show one without leaking
a secret.

``SETTINGS`` is the one registry of the variables the package reads; each front end (the magics,
the command line) reads them through these helpers, so a value means the same everywhere.
``ConnectionSettings`` (which Fabric lakehouse sessions run in) is resolved here, from the
config file's ``[connection]`` table and the environment, by the precedence ``auth/settings.py``
uses for sign-in.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fabric_livy_magics.errors import ConfigurationError

__all__ = [
    "SETTINGS", "ConnectionSettings", "Setting", "env_bool", "env_float", "env_int", "env_text",
    "fields_of", "looks_secret", "mask", "resolve_connection_settings", "set_settings", "setting_for",
]  # fmt: skip

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


def env_text(names: tuple[str, ...], default: str) -> str:
    """The first of ``names`` set (not blank) in the environment, stripped; else ``default``."""
    for name in names:
        raw = os.environ.get(name, "").strip()
        if raw:
            return raw
    return default


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
    #: What it fills, when something reads it into a field: ``auth.<AuthSettings field>``,
    #: ``connection.<ConnectionSettings field>`` or ``LivyMagics.<trait>``.
    sets: str | None = None


#: Every environment variable the client side reads, in one place: ``%livy config`` lists those
#: set, the magics' trait help and defaults and the ``[connection]`` reader below draw from it,
#: ``auth/settings.ENV_AUTH`` is checked against it, and a test checks the code reads no other.
SETTINGS: tuple[Setting, ...] = (
    Setting("FABRIC_LIVY_CONNECTION_STRING", "Fabric lakehouse 'Session job connection string'",
            sets="connection.connection_string"),
    Setting("FABRIC_WORKSPACE_ID", "Fabric workspace id (with FABRIC_LAKEHOUSE_ID)",
            sets="connection.workspace_id"),
    Setting("FABRIC_LAKEHOUSE_ID", "Fabric lakehouse id (with FABRIC_WORKSPACE_ID)",
            sets="connection.lakehouse_id"),
    Setting("FABRIC_ENVIRONMENT_ID", "Fabric Environment sessions run in", sets="connection.environment_id"),
    Setting("FABRIC_LIVY_URL", "an Apache Livy (or local) server URL"),
    Setting("LIVY_URL", "an Apache Livy server URL (after FABRIC_LIVY_URL)"),
    Setting("FABRIC_LIVY_CONFIG", "the config file (default ~/.config/fabric-livy-magics/config.toml)"),
    Setting("FABRIC_LIVY_AUTH_METHOD", "sign-in method", sets="auth.method"),
    Setting("FABRIC_LIVY_SCOPES", "scopes to ask for, space- or comma-separated", sets="auth.scopes"),
    Setting("FABRIC_LIVY_TOKEN_CACHE", "token cache file ('none': memory only)", sets="auth.token_cache_path"),
    Setting("FABRIC_LIVY_TOKEN_ENV_VAR", "variable the 'environment' sign-in reads", sets="auth.token_env_var"),
    Setting("FABRIC_ACCESS_TOKEN", "a ready token for the 'environment' sign-in", secret=True),
    Setting("AZURE_TENANT_ID", "Entra tenant", sets="auth.tenant_id"),
    Setting("AZURE_CLIENT_ID", "application (client) id", sets="auth.client_id"),
    Setting("AZURE_CLIENT_SECRET", "service principal secret", secret=True, sets="auth.client_secret"),
    Setting("AZURE_CLIENT_CERTIFICATE_PATH", "service principal certificate (PEM or PFX)",
            sets="auth.certificate_path"),
    Setting("AZURE_CLIENT_CERTIFICATE_PASSWORD", "its password", secret=True, sets="auth.certificate_password"),
    Setting("AZURE_AUTHORITY_HOST", "Entra authority host (sovereign clouds)", sets="auth.authority_host"),
    Setting("FABRIC_LIVY_KIND", "Language of cells without -l: pyspark, sql, spark or sparkr.",
            sets="LivyMagics.default_kind"),
    Setting("FABRIC_LIVY_MAXROWS", "Rows brought back for a table result or -o (-1: all).",
            sets="LivyMagics.maxrows"),
    Setting("FABRIC_LIVY_STATEMENT_TIMEOUT", "Seconds a cell waits for its statement (0: no limit).",
            sets="LivyMagics.statement_timeout"),
    Setting("FABRIC_LIVY_START_TIMEOUT", "Seconds to wait for a session to start (Fabric can take minutes).",
            sets="LivyMagics.session_start_timeout"),
    Setting("FABRIC_LIVY_KEEPALIVE_INTERVAL", "Seconds between keep-alive calls while idle (0: off).",
            sets="LivyMagics.keepalive_interval"),
    Setting("FABRIC_LIVY_AUTO_LOCAL", "With nothing configured, use the embedded local server.",
            sets="LivyMagics.auto_local"),
    Setting("FABRIC_LIVY_LOCAL_MASTER", "Spark master of a local server started by the magics "
            "or fabric-livy batch --local.", sets="LivyMagics.local_master"),
    Setting("FABRIC_LIVY_SERVE_TOKEN", "fabric-livy serve's shared secret", secret=True),
    Setting("FABRIC_LIVY_LOCAL_WARM", "Pre-started Spark processes of the shared local server the magics "
            "or fabric-livy batch --local start (default 1; 0: none)."),
    Setting("FABRIC_LIVY_LOCAL_IDLE_EXIT", "How long the shared local server waits with no session and no "
            "request before it stops (default 10m)."),
    Setting("JPY_SESSION_NAME", "the notebook's path, set by Jupyter Server (read by %livy export "
            "and to remember a notebook's sessions)"),
    Setting("FABRIC_LIVY_REATTACH", "after a kernel restart: ask (re-attach and say so), always, or never"),
    Setting("FABRIC_LIVY_EAGER_START", "start the session right after %livy connect: auto (in Jupyter), 1, 0"),
    Setting("XDG_CACHE_HOME", "where the remembered sessions file lives (default ~/.cache)"),
)


def setting_for(sets: str) -> Setting:
    """The registered variable that fills ``sets`` (``"LivyMagics.maxrows"``, ``"auth.method"``)."""
    for setting in SETTINGS:
        if setting.sets == sets:
            return setting
    raise KeyError(sets)


def fields_of(group: str) -> dict[str, str]:
    """Variable -> field for the settings that fill ``group`` (``"auth"``, ``"connection"``)."""
    prefix = group + "."
    return {s.name: s.sets[len(prefix):] for s in SETTINGS if s.sets and s.sets.startswith(prefix)}


def set_settings(environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(name, shown value) of each registered variable that is set, secrets masked."""
    env = os.environ if environ is None else environ
    return [(s.name, "****" if s.secret else mask(s.name, env[s.name])) for s in SETTINGS if env.get(s.name)]


# --- which Fabric lakehouse: [connection] in the config file, then the environment ------------

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_CONN_RE = re.compile(rf"/workspaces/(?P<ws>{_GUID})/lakehouses/(?P<lh>{_GUID})", re.IGNORECASE)


@dataclass(frozen=True)
class ConnectionSettings:
    """Which Fabric lakehouse to run in: configured, or the result of the sign-in form.

    ``connection_string`` is the "Session job connection string" a person pasted, kept as given;
    when it is set, workspace and lakehouse ids are read from it unless given separately.
    """

    workspace_id: str | None = None
    lakehouse_id: str | None = None
    environment_id: str | None = None
    connection_string: str | None = None

    def __post_init__(self) -> None:
        if self.connection_string and not (self.workspace_id and self.lakehouse_id):
            match = _CONN_RE.search(self.connection_string)
            if match is None:
                raise ConfigurationError(
                    "The connection string has no /workspaces/<id>/lakehouses/<id> part. Copy the "
                    "Session job connection string from the lakehouse's Livy endpoint settings."
                )
            object.__setattr__(self, "workspace_id", self.workspace_id or match["ws"])
            object.__setattr__(self, "lakehouse_id", self.lakehouse_id or match["lh"])
        for name in ("workspace_id", "lakehouse_id", "environment_id"):
            value = getattr(self, name)
            if value and not re.fullmatch(_GUID, value):
                raise ConfigurationError(
                    f"{name.replace('_', ' ').capitalize()} {value!r} is not a GUID; copy it from "
                    "the item's URL in Fabric (…/groups/<workspace>/lakehouses/<lakehouse>)."
                )

    @property
    def is_complete(self) -> bool:
        return bool(self.workspace_id and self.lakehouse_id)


_CONNECTION_FIELDS = frozenset(f.name for f in dataclasses.fields(ConnectionSettings))


def resolve_connection_settings(
    explicit: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_path: str | Path | None = None,
) -> ConnectionSettings:
    """Defaults < config file ``[connection]`` < environment < ``explicit`` (``None`` skipped),
    as for sign-in settings (``auth/settings.resolve_auth_settings``).

    A connection string given at a higher layer replaces workspace and lakehouse ids from lower
    layers, since it names both.
    """
    from fabric_livy_magics.auth.settings import config_table, merge_layers

    env = os.environ if environ is None else environ
    layers: list[dict[str, Any]] = [
        config_table("connection", _CONNECTION_FIELDS, path=config_path, environ=env),
        {fld: env[var] for var, fld in fields_of("connection").items() if env.get(var)},
        dict(explicit or {}),
    ]
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer.get("connection_string"):
            merged.pop("workspace_id", None)
            merged.pop("lakehouse_id", None)
        merged.update(merge_layers([layer], _CONNECTION_FIELDS))
    return ConnectionSettings(**{k: str(v).strip() for k, v in merged.items()})
