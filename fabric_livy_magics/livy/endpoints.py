"""Where a Livy API lives and how its URLs are shaped. Endpoints build URLs only; no I/O.

Two shapes exist:

* Apache Livy: ``{url}/sessions[/{id}[/statements...]]``, integer session ids.
* Microsoft Fabric: ``{base}/v1/workspaces/{ws}/lakehouses/{lh}/livyApi/versions/{v}/sessions...``,
  GUID session ids, plus ``highConcurrencySessions`` whose statements go to
  ``highConcurrencySessions/{sessionId}/repls/{replId}/statements``.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy.models import SessionId, StatementTarget

__all__ = ["Endpoint", "LivyEndpoint", "FabricEndpoint", "endpoint_from_url", "is_loopback_url"]

DEFAULT_FABRIC_BASE_URL = "https://api.fabric.microsoft.com"
DEFAULT_FABRIC_API_VERSION = "2023-12-01"

# The "Session job connection string" from a Lakehouse's settings, with or without a trailing
# /sessions or /batches (and anything after it). The docs print both livyApi and livyapi.
_FABRIC_URL = re.compile(
    r"^(?P<base>https?://[^/?#]+(?:/[^?#]*?)?)"
    r"/v1/workspaces/(?P<ws>[^/?#]+)/lakehouses/(?P<lh>[^/?#]+)"
    r"/livyapi/versions/(?P<version>[^/?#]+)"
    r"(?:/(?:sessions|batches|highConcurrencySessions)(?:/[^?#]*)?)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs whose host is localhost or a loopback address."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_http_url(url: str, what: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - read for its check: "host:99999" and a bad port raise here
    except ValueError as exc:  # "http://[::1", a port out of range or not a number
        reason = str(exc).encode("utf-8", "backslashreplace").decode("utf-8")  # no lone surrogates
        raise ConfigurationError(f"{what} {url!r} is not a usable URL ({reason}).") from None
    if "@" in parts.netloc:
        # A password in a URL ends up in messages, notebooks and Basic auth over the wire.
        raise ConfigurationError(
            f"The {what} carries credentials (user:password@): they would be shown and saved. "
            "Give the URL without them and sign in with `%livy login` or --auth.")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{what} {url!r} is not an http(s) URL. Give the full address, e.g. "
            "https://livy.example.com:8998 or http://127.0.0.1:8998."
        )
    return url.rstrip("/")


def _quote_id(value: SessionId) -> str:
    return quote(str(value), safe="")


class Endpoint:
    """URL builder shared by both shapes; subclasses say where the API root is."""

    #: "livy" or "fabric": which dialect the server speaks (ids, status codes, extra routes).
    dialect: ClassVar[str] = "livy"
    #: Whether statements carry a client-chosen ``sourceId`` that the server echoes.
    supports_source_id: ClassVar[bool] = False
    supports_high_concurrency: ClassVar[bool] = False
    #: Fabric has no /log or /state routes; logs come in the session object.
    supports_log_route: ClassVar[bool] = True
    #: Livy's ``POST sessions/{id}/completion``; Fabric's API has no such route.
    supports_completion_route: ClassVar[bool] = True

    @property
    def root(self) -> str:
        raise NotImplementedError

    @property
    def is_loopback(self) -> bool:
        return is_loopback_url(self.root)

    @property
    def is_https(self) -> bool:
        return self.root.lower().startswith("https://")

    # sessions
    def sessions_url(self) -> str:
        return f"{self.root}/sessions"

    def session_url(self, session_id: SessionId) -> str:
        return f"{self.root}/sessions/{_quote_id(session_id)}"

    def session_log_url(self, session_id: SessionId) -> str:
        return f"{self.session_url(session_id)}/log"

    def session_state_url(self, session_id: SessionId) -> str:
        return f"{self.session_url(session_id)}/state"

    def completion_url(self, session_id: SessionId) -> str:
        return f"{self.session_url(session_id)}/completion"

    def reset_timeout_url(self, session_id: SessionId) -> str:
        return f"{self.session_url(session_id)}/reset-timeout"

    # statements: a plain session or a high-concurrency REPL
    def statements_url(self, target: StatementTarget) -> str:
        if target.repl_id is not None:
            return (f"{self.root}/highConcurrencySessions/{_quote_id(target.session_id)}"
                    f"/repls/{_quote_id(target.repl_id)}/statements")
        return f"{self.session_url(target.session_id)}/statements"

    def statement_url(self, target: StatementTarget, statement_id: int) -> str:
        return f"{self.statements_url(target)}/{int(statement_id)}"

    def cancel_statement_url(self, target: StatementTarget, statement_id: int) -> str:
        return f"{self.statement_url(target, statement_id)}/cancel"

    # high concurrency (Fabric)
    def hc_sessions_url(self) -> str:
        return f"{self.root}/highConcurrencySessions"

    def hc_session_url(self, hc_id: str) -> str:
        return f"{self.hc_sessions_url()}/{_quote_id(hc_id)}"

    # batches (Fabric has no /log or /state route here either: see supports_log_route)
    def batches_url(self) -> str:
        return f"{self.root}/batches"

    def batch_url(self, batch_id: SessionId) -> str:
        return f"{self.batches_url()}/{_quote_id(batch_id)}"

    def batch_log_url(self, batch_id: SessionId) -> str:
        return f"{self.batch_url(batch_id)}/log"

    def batch_state_url(self, batch_id: SessionId) -> str:
        return f"{self.batch_url(batch_id)}/state"

    def parse_session_id(self, value: SessionId) -> SessionId:
        """Normalise a user-typed session id to this dialect's type, or raise ConfigurationError."""
        return self.parse_id(value, "session")

    def parse_id(self, value: SessionId, what: str) -> SessionId:
        """A user-typed id of a ``what`` (session, batch) in this dialect's type."""
        raise NotImplementedError

    def page_params(self, start: int, size: int | None) -> dict[str, Any]:
        """Query of one page of ``GET sessions`` / ``GET batches``: Livy's ``from``/``size``."""
        params: dict[str, Any] = {"from": start}
        if size is not None:
            params["size"] = size
        return params


@dataclass(frozen=True)
class LivyEndpoint(Endpoint):
    """An Apache Livy server (or our local server in Livy shape), e.g. ``http://127.0.0.1:8998``."""

    url: str

    dialect: ClassVar[str] = "livy"

    def __post_init__(self) -> None:
        url = _check_http_url(self.url, "Livy URL")
        # Accept a pasted ".../sessions" or ".../sessions/" too.
        url = re.sub(r"/sessions/?$", "", url)
        object.__setattr__(self, "url", url)

    @property
    def root(self) -> str:
        return self.url

    def parse_id(self, value: SessionId, what: str) -> SessionId:
        text = str(value).strip()
        # ASCII digits only ("²" passes str.isdigit), and no more than a Java long holds.
        if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,18}", text):
            listing = "batches" if what == "batch" else f"{what}s"
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise ConfigurationError(
                f"Livy {what} ids are whole numbers; got {shown!r}. List {listing} to find the id."
            )
        return int(text)


def _check_guid(value: str, what: str) -> str:
    text = str(value).strip().strip("{}")
    try:
        uuid.UUID(text)
    except ValueError:
        raise ConfigurationError(
            f"The {what} {value!r} is not a GUID. Copy it from the Fabric portal URL or the "
            "Lakehouse's 'Livy endpoint' settings (it looks like 1b2c3d4e-...)."
        ) from None
    return text.lower()


@dataclass(frozen=True)
class FabricEndpoint(Endpoint):
    """A Fabric Lakehouse's Livy API. ``base_url`` is overridable to point at a local server."""

    workspace_id: str
    lakehouse_id: str
    api_version: str = DEFAULT_FABRIC_API_VERSION
    base_url: str = DEFAULT_FABRIC_BASE_URL

    dialect: ClassVar[str] = "fabric"
    supports_source_id: ClassVar[bool] = True
    supports_high_concurrency: ClassVar[bool] = True
    supports_log_route: ClassVar[bool] = False
    supports_completion_route: ClassVar[bool] = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "workspace_id", _check_guid(self.workspace_id, "workspace id"))
        object.__setattr__(self, "lakehouse_id", _check_guid(self.lakehouse_id, "lakehouse id"))
        version = str(self.api_version).strip().strip("/")
        if not version or "/" in version:
            raise ConfigurationError(f"Invalid Fabric Livy API version {self.api_version!r}; "
                                     f"use {DEFAULT_FABRIC_API_VERSION!r}.")
        object.__setattr__(self, "api_version", version)
        object.__setattr__(self, "base_url", _check_http_url(self.base_url, "Fabric base URL"))

    @classmethod
    def from_connection_string(cls, text: str) -> "FabricEndpoint":
        """Parse the "Session job connection string" a person pastes from the Lakehouse settings."""
        match = _FABRIC_URL.match(text.strip())
        if not match:
            raise ConfigurationError(
                f"{text.strip()!r} is not a Fabric Livy endpoint. Paste the 'Session job connection "
                "string' from the Lakehouse settings; it looks like https://api.fabric.microsoft.com"
                "/v1/workspaces/<workspace id>/lakehouses/<lakehouse id>/livyApi/versions/"
                f"{DEFAULT_FABRIC_API_VERSION}/sessions"
            )
        return cls(workspace_id=match["ws"], lakehouse_id=match["lh"],
                   api_version=match["version"], base_url=match["base"])

    @property
    def root(self) -> str:
        return (f"{self.base_url}/v1/workspaces/{self.workspace_id}/lakehouses/{self.lakehouse_id}"
                f"/livyApi/versions/{self.api_version}")

    def session_log_url(self, session_id: SessionId) -> str:
        raise ConfigurationError("Fabric has no session log route; the log is in the session object.")

    def session_state_url(self, session_id: SessionId) -> str:
        raise ConfigurationError("Fabric has no session state route; get the session instead.")

    def parse_id(self, value: SessionId, what: str) -> SessionId:
        return _check_guid(str(value), f"Fabric {what} id")

    def page_params(self, start: int, size: int | None) -> dict[str, Any]:
        """Fabric pages with OData's ``$skip``/``$top``."""
        params: dict[str, Any] = {"$skip": start} if start else {}
        if size is not None:
            params["$top"] = size
        return params


def endpoint_from_url(url: str) -> Endpoint:
    """A Fabric endpoint when the URL has the Fabric shape, else a plain Livy endpoint."""
    if _FABRIC_URL.match(url.strip()):
        return FabricEndpoint.from_connection_string(url)
    return LivyEndpoint(url)
