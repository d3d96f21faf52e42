"""Where sessions and batch jobs run, and how requests are signed there: the rules every front
end (the magics, ``fabric-livy batch``) shares.

``TargetChoice`` is what the person asked for (the options both front ends spell the same way);
:func:`resolve_target` turns it into a ``Target``: the explicit choice, else the configured
endpoint (Fabric: FABRIC_LIVY_CONNECTION_STRING, or FABRIC_WORKSPACE_ID + FABRIC_LAKEHOUSE_ID,
from the environment or the config file; then FABRIC_LIVY_URL / LIVY_URL), else, where the front
end allows it, the embedded local server. ``SessionOptions`` is how a session is created.

The library starts no server: the front ends pass ``fabric_livy_magics.server.launcher`` in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy.endpoints import Endpoint, FabricEndpoint, LivyEndpoint

__all__ = [
    "DEFAULT_LOCAL_MASTER", "KINDS", "URL_ENV_VARS", "LocalLauncher", "SessionOptions", "Target",
    "TargetChoice", "build_target", "configured_endpoint", "configured_local_master",
    "fabric_endpoint", "find_or_start_local_server", "parse_pairs", "resolve_target", "token_source_for",
]  # fmt: skip

#: Statement kinds a cell may use (``-l``), as Livy and Fabric spell them.
KINDS = ("pyspark", "sql", "spark", "sparkr")

#: Variables naming an Apache Livy (or local) server, in order of precedence.
URL_ENV_VARS = ("FABRIC_LIVY_URL", "LIVY_URL")

#: Spark master of a local server a front end starts (FABRIC_LIVY_LOCAL_MASTER changes it).
DEFAULT_LOCAL_MASTER = "local[2]"


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


@dataclass(frozen=True)
class TargetChoice:
    """Where and how a person asked to run, as ``%livy connect`` and ``fabric-livy batch`` spell
    it: at most one of ``--url``, ``--connection-string``, ``--workspace``/``--lakehouse`` and
    ``--local``; ``--auth`` the sign-in method. Nothing given: the configured default."""

    url: str | None = None
    connection_string: str | None = None
    workspace: str | None = None
    lakehouse: str | None = None
    local: bool = False
    auth: str | None = None

    @classmethod
    def from_options(cls, options: Any) -> TargetChoice:
        """From parsed options (an ``argparse.Namespace``) carrying these names."""
        return cls(**{f.name: getattr(options, f.name, None) or f.default for f in fields(cls)})

    def method(self) -> str | None:
        """``--auth`` by its canonical name; an unknown one is a ConfigurationError."""
        if self.auth is None:
            return None
        from fabric_livy_magics.auth.settings import normalize_method

        return normalize_method(self.auth)

    def endpoint(self) -> Endpoint | None:
        """The endpoint named explicitly, else None (``--local`` and nothing given alike)."""
        from fabric_livy_magics.livy.endpoints import endpoint_from_url

        given = [name for name, value in (
            ("--url", self.url), ("--connection-string", self.connection_string),
            ("--workspace/--lakehouse", self.workspace or self.lakehouse), ("--local", self.local)) if value]
        if len(given) > 1:
            raise ConfigurationError(f"Give one target, not {' and '.join(given)}.")
        if self.url:
            return endpoint_from_url(self.url)
        if self.connection_string:
            return FabricEndpoint.from_connection_string(self.connection_string)
        if self.workspace or self.lakehouse:
            if not (self.workspace and self.lakehouse):
                raise ConfigurationError("Give both --workspace and --lakehouse (or --connection-string).")
            return FabricEndpoint(self.workspace, self.lakehouse)
        return None


def fabric_endpoint(connection: Any) -> FabricEndpoint:
    """The lakehouse complete ``ConnectionSettings`` name (their connection string, when given)."""
    if connection.connection_string:
        return FabricEndpoint.from_connection_string(connection.connection_string)
    return FabricEndpoint(str(connection.workspace_id), str(connection.lakehouse_id))


def configured_endpoint() -> tuple[Endpoint, str | None] | None:
    """The endpoint configured in the environment or the config file, with its Fabric Environment
    id: Fabric (FABRIC_LIVY_CONNECTION_STRING, or FABRIC_WORKSPACE_ID + FABRIC_LAKEHOUSE_ID) first,
    then FABRIC_LIVY_URL / LIVY_URL; None when nothing is configured."""
    from fabric_livy_magics.livy.endpoints import endpoint_from_url
    from fabric_livy_magics.livy.settings import env_text, resolve_connection_settings

    connection = resolve_connection_settings()
    if connection.is_complete:
        return fabric_endpoint(connection), connection.environment_id
    url = env_text(URL_ENV_VARS, "")
    return (endpoint_from_url(url), None) if url else None


def configured_local_master() -> str:
    """The Spark master for a local server: FABRIC_LIVY_LOCAL_MASTER, else ``local[2]``. (The
    magics read the same variable as the default of ``LivyMagics.local_master``.)"""
    from fabric_livy_magics.livy.settings import env_text, setting_for

    return env_text((setting_for("LivyMagics.local_master").name,), DEFAULT_LOCAL_MASTER)


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


def resolve_target(choice: TargetChoice, *, missing: str, signed_in: Any = None,
                   local_server: Callable[[], Any] | None = None,
                   auto_local: bool = False) -> tuple[Target, str | None]:
    """The Target for ``choice``, and the Fabric Environment id configured with the endpoint.

    In order: the explicit choice; the configured endpoint (:func:`configured_endpoint`); with
    ``auto_local``, the embedded local server. ``local_server()`` finds or starts that server
    (it has ``url`` and ``token``); without it ``--local`` is refused. Nothing found raises
    ConfigurationError(``missing``), which says what to do in the caller's own words. Sign-in by
    :func:`token_source_for`, ``signed_in`` being the notebook's ``%livy login``, if any."""
    method = choice.method()
    endpoint = choice.endpoint()
    environment_id = None
    if endpoint is None and not choice.local:
        configured = configured_endpoint()
        if configured is not None:
            endpoint, environment_id = configured
        elif not auto_local:
            raise ConfigurationError(missing)
    if endpoint is not None:
        return build_target(endpoint, method, signed_in=signed_in), environment_id
    if local_server is None:
        raise ConfigurationError("The local server cannot be started from here.")
    server = local_server()
    return build_target(LivyEndpoint(server.url), method, signed_in=signed_in, local_server=server), None


class LocalLauncher(Protocol):
    """What :func:`find_or_start_local_server` uses of ``fabric_livy_magics.server.launcher``."""

    ServerStartError: type[Exception]

    def find_running_server(self) -> Any: ...

    def start_server(self, *, master: str | None = None, remember: bool = False) -> Any: ...


def find_or_start_local_server(launcher: LocalLauncher, *, master: str,
                               say: Callable[[str], None]) -> tuple[Any, bool]:
    """The embedded server this user already runs, else one started now in the background and
    remembered, so the next notebook or command finds it: (server, whether it was started here)."""
    server = launcher.find_running_server()
    if server is not None:
        return server, False
    say("Starting the local Livy server (PySpark) in the background...")
    try:
        return launcher.start_server(master=master, remember=True), True
    except launcher.ServerStartError as exc:
        raise ConfigurationError(f"{exc} Check that Java 17+ and pyspark are installed.") from exc


def parse_pairs(items: list[str], option: str, *, refuse_secrets: bool = False) -> dict[str, str]:
    """``["k=v", ...]`` -> dict. ``refuse_secrets``: a key that looks like a secret is refused
    (magic options are saved in the notebook)."""
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
