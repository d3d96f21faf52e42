"""Where sign-in settings come from, and in which order they win; the config file they share.

Precedence, lowest to highest (a later source overrides an earlier one, field by field):

1. built-in defaults (the fields of :class:`AuthSettings`);
2. the config file: TOML at ``$FABRIC_LIVY_CONFIG`` if set, else
   ``$XDG_CONFIG_HOME/fabric-livy-magics/config.toml`` (``~/.config/fabric-livy-magics/config.toml``;
   ``%APPDATA%\\fabric-livy-magics\\config.toml`` on Windows), table ``[auth]``;
3. environment variables (table below);
4. explicit arguments (widget fields, ``%livy login`` / ``%livy connect`` options, code).

The ``[connection]`` table (which lakehouse) is read by ``livy/settings.py`` through the same
:func:`config_table` and :func:`merge_layers`: where sessions run is not a sign-in matter.

Secrets (client secret, certificate password) are read from the environment or given explicitly
(widget, ``getpass``); the config file may not hold them, since config files get shared and synced.

Environment variables::

    FABRIC_LIVY_AUTH_METHOD            method: interactive | device-code | service-principal |
                                       azure-cli | azure-default | environment | none
    AZURE_TENANT_ID                    tenant id or domain (default "organizations")
    AZURE_CLIENT_ID                    application (client) id
    AZURE_CLIENT_SECRET                service principal secret
    AZURE_CLIENT_CERTIFICATE_PATH      PEM (key + certificate) or PFX file
    AZURE_CLIENT_CERTIFICATE_PASSWORD  password of that file, if any
    AZURE_AUTHORITY_HOST               e.g. https://login.microsoftonline.us (sovereign clouds)
    FABRIC_LIVY_SCOPES                 space- or comma-separated scopes (replace the defaults)
    FABRIC_LIVY_TOKEN_CACHE            token cache file; "none" keeps tokens in memory only
    FABRIC_LIVY_TOKEN_ENV_VAR          variable the "environment" method reads (FABRIC_ACCESS_TOKEN)
    FABRIC_LIVY_CONFIG                 config file path

Every variable the package reads, with its meaning, is in ``livy/settings.SETTINGS``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabric_livy_magics.errors import ConfigurationError

__all__ = [
    "AUTH_METHODS",
    "AuthSettings",
    "DEFAULT_AUTHORITY_HOST",
    "ENV_AUTH",
    "FABRIC_APP_SCOPE",
    "FABRIC_DELEGATED_SCOPES",
    "config_table",
    "default_config_path",
    "load_config_file",
    "merge_layers",
    "normalize_method",
    "resolve_auth_settings",
]

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
FABRIC_RESOURCE = "https://api.fabric.microsoft.com/"
# Service principals ask for the resource's ".default" scope (Fabric docs, "Livy API" page).
FABRIC_APP_SCOPE = FABRIC_RESOURCE + ".default"
# Delegated scopes the Fabric Livy docs list for a user; the docs say they may change.
FABRIC_DELEGATED_SCOPES: tuple[str, ...] = tuple(
    FABRIC_RESOURCE + name
    for name in (
        "Lakehouse.Execute.All",
        "Lakehouse.Read.All",
        "Item.ReadWrite.All",
        "Workspace.ReadWrite.All",
        "Code.AccessStorage.All",
        "Code.AccessAzureKeyvault.All",
        "Code.AccessAzureDataExplorer.All",
        "Code.AccessAzureDataLake.All",
        "Code.AccessFabric.All",
    )
)

AUTH_METHODS: tuple[str, ...] = (
    "interactive",
    "device-code",
    "service-principal",
    "azure-cli",
    "azure-default",
    "environment",
    "none",
)
_METHOD_ALIASES = {
    "browser": "interactive",
    "device": "device-code",
    "devicecode": "device-code",
    "device_code": "device-code",
    "sp": "service-principal",
    "service_principal": "service-principal",
    "client-secret": "service-principal",
    "certificate": "service-principal",
    "azure": "azure-default",
    "azure_cli": "azure-cli",
    "az": "azure-cli",
    "env": "environment",
    "token": "environment",
}

_SECRET_FIELDS = frozenset({"client_secret", "certificate_password"})
_NO_CACHE_WORDS = frozenset({"none", "off", "memory", "false", "0"})

#: Environment variable -> AuthSettings field. (The registry, ``livy/settings.SETTINGS``, lists
#: them for people; a test holds the two together, since this layer cannot import that one.)
ENV_AUTH = {
    "FABRIC_LIVY_AUTH_METHOD": "method",
    "AZURE_TENANT_ID": "tenant_id",
    "AZURE_CLIENT_ID": "client_id",
    "AZURE_CLIENT_SECRET": "client_secret",
    "AZURE_CLIENT_CERTIFICATE_PATH": "certificate_path",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD": "certificate_password",
    "AZURE_AUTHORITY_HOST": "authority_host",
    "FABRIC_LIVY_SCOPES": "scopes",
    "FABRIC_LIVY_TOKEN_CACHE": "token_cache_path",
    "FABRIC_LIVY_TOKEN_ENV_VAR": "token_env_var",
}


def normalize_method(name: str) -> str:
    """The canonical method name for ``name`` (case and common aliases tolerated)."""
    key = name.strip().lower()
    key = _METHOD_ALIASES.get(key, key)
    if key not in AUTH_METHODS:
        raise ConfigurationError(
            f"Unknown sign-in method {name!r}. Use one of: {', '.join(AUTH_METHODS)}."
        )
    return key


@dataclass(frozen=True)
class AuthSettings:
    """Everything a token provider needs. Secrets never show in the repr."""

    method: str = "interactive"
    tenant_id: str = "organizations"
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    certificate_path: str | None = None
    certificate_password: str | None = field(default=None, repr=False)
    authority_host: str = DEFAULT_AUTHORITY_HOST
    scopes: tuple[str, ...] | None = None  # None: the method's default (delegated or .default)
    token_cache_path: str | None = None  # None: default location
    token_cache_enabled: bool = True
    token_env_var: str = "FABRIC_ACCESS_TOKEN"
    device_code_timeout: float = 900.0
    interactive_timeout: float = 300.0
    http_timeout: float = 30.0
    instance_discovery: bool = True  # off for a private (test or on-premises) authority

    @property
    def authority(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id.strip('/')}"

    def effective_scopes(self) -> tuple[str, ...]:
        if self.scopes:
            return self.scopes
        if self.method in ("service-principal", "azure-cli", "azure-default"):
            return (FABRIC_APP_SCOPE,)
        return FABRIC_DELEGATED_SCOPES

    def replace(self, **changes: Any) -> AuthSettings:
        return dataclasses.replace(self, **changes)


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("FABRIC_LIVY_CONFIG"):
        return Path(env["FABRIC_LIVY_CONFIG"]).expanduser()
    if sys.platform.startswith("win") and env.get("APPDATA"):
        base = Path(env["APPDATA"])
    else:
        base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "fabric-livy-magics" / "config.toml"


def load_config_file(path: str | Path | None = None, environ: Mapping[str, str] | None = None
                     ) -> tuple[Path, dict[str, Any]]:
    """The config file's path and its parsed TOML; ``{}`` when the default file is absent (a
    file named by ``path`` or FABRIC_LIVY_CONFIG must exist). Readers take their table with
    :func:`config_table`."""
    import tomllib

    explicit = path is not None or bool((os.environ if environ is None else environ).get(
        "FABRIC_LIVY_CONFIG"))
    config_path = Path(path).expanduser() if path is not None else default_config_path(environ)
    try:
        raw = config_path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigurationError(
                f"Config file {config_path} does not exist. Create it or unset FABRIC_LIVY_CONFIG."
            ) from None
        return config_path, {}
    except OSError as exc:
        raise ConfigurationError(f"Cannot read config file {config_path}: {exc.strerror}.") from None
    try:
        return config_path, tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"Config file {config_path} is not valid TOML: {exc}.") from None


def config_table(table: str, allowed: frozenset[str], *, path: str | Path | None = None,
                 environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One table of the config file (``[auth]``, ``[connection]``), its keys checked against
    ``allowed``; secrets are refused in any table (config files get shared and synced)."""
    config_path, data = load_config_file(path, environ)
    values = data.get(table, {})
    if not isinstance(values, dict):
        raise ConfigurationError(f"[{table}] in {config_path} must be a table.")
    secret = _SECRET_FIELDS & values.keys()
    if secret:
        raise ConfigurationError(
            f"{config_path} sets {', '.join(sorted(secret))}: secrets do not belong in a config "
            "file. Use AZURE_CLIENT_SECRET / AZURE_CLIENT_CERTIFICATE_PASSWORD or the sign-in form."
        )
    unknown = values.keys() - allowed
    if unknown:
        raise ConfigurationError(
            f"Unknown key(s) {', '.join(sorted(unknown))} in [{table}] of {config_path}. "
            f"Known: {', '.join(sorted(allowed - _SECRET_FIELDS))}."
        )
    return dict(values)


_AUTH_FIELDS = frozenset(f.name for f in dataclasses.fields(AuthSettings))


def _coerce_auth(name: str, value: Any) -> Any:
    """Turn config/env/explicit values into the field's type, with a one-line error if wrong."""
    if name == "method":
        return normalize_method(str(value))
    if name == "scopes":
        if isinstance(value, str):
            parts = [p for p in re.split(r"[\s,]+", value) if p]
        else:
            parts = [str(p) for p in value]
        return tuple(parts) or None
    if name in ("device_code_timeout", "interactive_timeout", "http_timeout"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{name} must be a number of seconds, not {value!r}.") from None
        if number <= 0:
            raise ConfigurationError(f"{name} must be positive, not {value!r}.")
        return number
    if name in ("token_cache_enabled", "instance_discovery"):
        if isinstance(value, str):
            return value.strip().lower() not in ("0", "false", "no", "off", "")
        return bool(value)
    if name == "authority_host":
        text = str(value).strip().rstrip("/")
        if "://" not in text:
            text = "https://" + text
        if not text.startswith("https://"):
            raise ConfigurationError(
                f"Authority host {value!r} must be an https:// URL, e.g. https://login.microsoftonline.us."
            )
        return text
    return str(value)


def merge_layers(layers: list[Mapping[str, Any]], allowed: frozenset[str]) -> dict[str, Any]:
    """Later layers win, key by key; ``None`` and blank strings mean "not given" at a layer."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key not in allowed:
                raise ConfigurationError(f"Unknown setting {key!r}.")
            if value is None or (isinstance(value, str) and not value.strip()):
                continue  # "not given" at this layer
            merged[key] = value
    return merged


def resolve_auth_settings(
    explicit: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_path: str | Path | None = None,
) -> AuthSettings:
    """Defaults < config file ``[auth]`` < environment < ``explicit`` (``None`` values skipped)."""
    env = os.environ if environ is None else environ
    file_layer = config_table("auth", _AUTH_FIELDS, path=config_path, environ=env)
    env_layer = {fld: env[var] for var, fld in ENV_AUTH.items() if env.get(var)}
    merged = merge_layers([file_layer, env_layer, dict(explicit or {})], _AUTH_FIELDS)
    values = {name: _coerce_auth(name, value) for name, value in merged.items()}
    cache_path = values.get("token_cache_path")
    if cache_path is not None and cache_path.strip().lower() in _NO_CACHE_WORDS:
        values["token_cache_path"] = None
        values["token_cache_enabled"] = False
    return AuthSettings(**values)


def __getattr__(name: str) -> Any:
    """The old import path of what moved to ``livy/settings.py`` (``notebook/widgets.py`` still
    uses it): which lakehouse sessions run in is not a sign-in setting."""
    if name in ("ConnectionSettings", "resolve_connection_settings"):
        import importlib

        return getattr(importlib.import_module("fabric_livy_magics.livy.settings"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
