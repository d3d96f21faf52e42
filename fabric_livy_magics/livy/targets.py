"""Where sessions run and how they are created: ``Target`` and ``SessionOptions``.

``SessionOptions`` is what the person asked for (``%livy connect`` or the command line's options);
``Target`` is where sessions live and how requests are signed there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fabric_livy_magics.livy.endpoints import Endpoint, FabricEndpoint

__all__ = [
    "KINDS", "URL_ENV_VARS", "SessionOptions", "Target", "build_target", "configured_endpoint",
    "endpoint_from_options", "parse_pairs", "token_source_for",
]  # fmt: skip

#: Statement kinds a cell may use (``-l``), as Livy and Fabric spell them.
KINDS = ("pyspark", "sql", "spark", "sparkr")


@dataclass(frozen=True)
class SessionOptions:
    """What the session is created with (``%livy connect`` options)."""

    kind: str = "pyspark"
    name: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)
    environment_id: str | None = None
    high_concurrency: bool = False
    tag: str | None = None
    keep: bool = False


@dataclass(frozen=True)
class Target:
    """Where the notebook's session lives and how requests are signed.

    ``auth_method`` is None when no Authorization header is sent. ``token_provider`` is the
    object that hands out tokens (its repr never shows one). ``description`` is for people.
    """

    endpoint: Endpoint
    description: str
    auth_method: str | None = None
    token_provider: Any = field(default=None, repr=False, compare=False)
    local_server: Any = field(default=None, repr=False, compare=False)

    @property
    def is_fabric(self) -> bool:
        return isinstance(self.endpoint, FabricEndpoint)


# --- where cells and jobs run: the rules every front end (magics, command line) shares ---------

#: Variables naming an Apache Livy (or local) server, in order of precedence.
URL_ENV_VARS = ("FABRIC_LIVY_URL", "LIVY_URL")


def endpoint_from_options(*, url: str | None = None, connection_string: str | None = None,
                          workspace: str | None = None, lakehouse: str | None = None) -> Endpoint | None:
    """The endpoint the person named explicitly (one of the three ways), else None."""
    from fabric_livy_magics.errors import ConfigurationError
    from fabric_livy_magics.livy.endpoints import endpoint_from_url

    given = [name for name, value in (("--url", url), ("--connection-string", connection_string),
                                      ("--workspace/--lakehouse", workspace or lakehouse)) if value]
    if len(given) > 1:
        raise ConfigurationError(f"Give one target, not {' and '.join(given)}.")
    if url:
        return endpoint_from_url(url)
    if connection_string:
        return FabricEndpoint.from_connection_string(connection_string)
    if workspace or lakehouse:
        if not (workspace and lakehouse):
            raise ConfigurationError("Give both --workspace and --lakehouse (or --connection-string).")
        return FabricEndpoint(workspace, lakehouse)
    return None


def configured_endpoint() -> tuple[Endpoint, str | None] | None:
    """The endpoint configured in the environment or the config file, with its Fabric Environment
    id: Fabric (FABRIC_LIVY_CONNECTION_STRING, or FABRIC_WORKSPACE_ID + FABRIC_LAKEHOUSE_ID) first,
    then FABRIC_LIVY_URL / LIVY_URL; None when nothing is configured."""
    import os

    from fabric_livy_magics.auth.settings import resolve_connection_settings
    from fabric_livy_magics.livy.endpoints import endpoint_from_url

    connection = resolve_connection_settings()
    if connection.is_complete:
        if connection.connection_string:
            endpoint: Endpoint = FabricEndpoint.from_connection_string(connection.connection_string)
        else:
            endpoint = FabricEndpoint(str(connection.workspace_id), str(connection.lakehouse_id))
        return endpoint, connection.environment_id
    url = next((os.environ[v] for v in URL_ENV_VARS if os.environ.get(v, "").strip()), None)
    return (endpoint_from_url(url), None) if url else None


def token_source_for(endpoint: Endpoint, method: str | None, *, signed_in: Any = None,
                     local_token: str | None = None) -> tuple[str | None, Any]:
    """(method name, token source) for ``endpoint``, by one rule for every front end:

    * an explicit ``method`` wins (``none``: no header);
    * a local server started with a shared secret: that secret;
    * ``signed_in`` (the notebook's ``%livy login``): that sign-in, loopback or not;
    * a loopback endpoint: no sign-in;
    * Fabric: the configured method (FABRIC_LIVY_AUTH_METHOD / config file; default interactive);
    * Apache Livy: FABRIC_LIVY_AUTH_METHOD if set, else no sign-in."""
    import os

    from fabric_livy_magics.auth.providers import provider_from_settings
    from fabric_livy_magics.auth.settings import normalize_method, resolve_auth_settings

    if method is not None:
        method = normalize_method(method)
        return method, provider_from_settings(resolve_auth_settings({"method": method}))
    if local_token:
        return "local-token", (lambda: local_token)
    if signed_in is not None:
        return signed_in.method, signed_in.provider
    if endpoint.is_loopback:
        return None, None
    if isinstance(endpoint, FabricEndpoint) or os.environ.get("FABRIC_LIVY_AUTH_METHOD"):
        settings = resolve_auth_settings()
        if settings.method == "none":
            return None, None
        return settings.method, provider_from_settings(settings)
    return None, None


def build_target(endpoint: Endpoint, method: str | None, *, signed_in: Any = None,
                 local_server: Any = None) -> Target:
    """A Target with its description and token source (see :func:`token_source_for`)."""
    if local_server is not None:
        description = f"the local server at {endpoint.root}"
    elif isinstance(endpoint, FabricEndpoint):
        description = f"Fabric lakehouse {endpoint.lakehouse_id} at {endpoint.root}"
    else:
        description = f"Livy server at {endpoint.root}"
    chosen, provider = token_source_for(endpoint, method, signed_in=signed_in,
                                        local_token=getattr(local_server, "token", None))
    return Target(endpoint=endpoint, description=description, auth_method=chosen,
                  token_provider=provider, local_server=local_server)


def parse_pairs(items: list[str], option: str, *, refuse_secrets: bool = False) -> dict[str, str]:
    """``["k=v", ...]`` -> dict. ``refuse_secrets``: a key that looks like a secret is refused
    (magic options are saved in the notebook)."""
    from fabric_livy_magics.errors import ConfigurationError
    from fabric_livy_magics.livy.settings import looks_secret

    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigurationError(f"{option} takes KEY=VALUE, got {item!r}.")
        if refuse_secrets and looks_secret(key):
            raise ConfigurationError(
                f"Refusing {option} {key}=...: it looks like a secret, and magic options are saved in "
                "the notebook. Put it in a Fabric Environment or the server's configuration.")
        pairs[key] = value.strip()
    return pairs
