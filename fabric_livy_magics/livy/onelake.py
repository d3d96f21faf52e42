"""Put a file into a lakehouse's ``Files/`` on OneLake, where a Fabric Spark job can read it.

OneLake speaks the ADLS Gen2 REST API at ``https://onelake.dfs.fabric.microsoft.com/{workspace}/
{lakehouse}/Files/...`` (workspace and lakehouse by GUID or name); Spark reads the same file as
``abfss://{workspace}@onelake.dfs.fabric.microsoft.com/{lakehouse}/Files/...``. An upload is three
calls (Azure Storage REST reference, "Path - Create" and "Path - Update")::

    PUT   {path}?resource=file                        create (or replace) an empty file   -> 201
    PATCH {path}?action=append&position=0             the bytes                           -> 202
    PATCH {path}?action=flush&position={length}       commit them                         -> 200

with a bearer token for the storage audience (scope ``https://storage.azure.com/.default``,
not the Fabric API's). Tokens go only over HTTPS, or plain HTTP to loopback (tests).

    with OneLakeClient(token_source) as onelake:
        path = OneLakePath(workspace_id, lakehouse_id, "Files/jobs/etl.py")
        onelake.upload(path, script.encode())
        print(path.abfss())
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from fabric_livy_magics.errors import AuthError, ConfigurationError
from fabric_livy_magics.livy.transport import (
    BearerAuth,
    Response,
    TokenSource,
    build_http_session,
    check_token_url,
    error_from_response,
    request_id_of,
    send,
)

__all__ = ["ONELAKE_SCOPE", "ONELAKE_URL", "OneLakeClient", "OneLakePath"]

ONELAKE_URL = "https://onelake.dfs.fabric.microsoft.com"
#: Storage audience: OneLake refuses a token minted for api.fabric.microsoft.com.
ONELAKE_SCOPE = "https://storage.azure.com/.default"
#: ``x-ms-version`` of the ADLS Gen2 REST API the calls follow.
ADLS_API_VERSION = "2023-11-03"


@dataclass(frozen=True)
class OneLakePath:
    """A file in a lakehouse: ``path`` is inside the item and starts with ``Files/``."""

    workspace: str
    lakehouse: str
    path: str

    def __post_init__(self) -> None:
        path = self.path.strip().strip("/")
        parts = path.split("/")
        if parts[0] != "Files" or len(parts) < 2 or any(p in ("", ".", "..") for p in parts):
            raise ConfigurationError(
                f"OneLake path {self.path!r} must be a file under the lakehouse's Files/ folder, "
                "e.g. Files/jobs/etl.py.")
        object.__setattr__(self, "path", path)

    def url(self, base_url: str = ONELAKE_URL) -> str:
        """The HTTPS (ADLS Gen2) URL of the file."""
        return (f"{base_url.rstrip('/')}/{quote(self.workspace, safe='')}/"
                f"{quote(self.lakehouse, safe='')}/{quote(self.path, safe='/')}")

    def abfss(self, base_url: str = ONELAKE_URL) -> str:
        """The ``abfss://`` URL Spark reads the file by."""
        host = urlsplit(base_url).netloc
        return f"abfss://{self.workspace}@{host}/{self.lakehouse}/{self.path}"


class OneLakeClient:
    """ADLS Gen2 file writes on OneLake with one pooled session, a timeout on every call."""

    def __init__(self, token_source: TokenSource, *, base_url: str = ONELAKE_URL,
                 timeout: tuple[float, float] = (5.0, 60.0)) -> None:
        base = base_url.strip().rstrip("/")
        check_token_url(base)  # HTTPS, or plain HTTP only to loopback
        self.base_url = base
        self.timeout = timeout
        self._auth = BearerAuth(token_source)
        self._http = build_http_session(pool_size=2)
        self._http.auth = self._auth

    def __repr__(self) -> str:
        return f"OneLakeClient({self.base_url!r})"

    def __enter__(self) -> OneLakeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def upload(self, path: OneLakePath, data: bytes) -> str:
        """Create (or replace) ``path`` with ``data``; returns its ``abfss://`` URL."""
        url = path.url(self.base_url)
        where = f"{path.path} in lakehouse {path.lakehouse}"
        self._call("PUT", url, {"resource": "file"}, b"", f"create {where} on OneLake", retry_401=True)
        if data:
            self._call("PATCH", url, {"action": "append", "position": "0"}, data,
                       f"write {where} on OneLake")
        self._call("PATCH", url, {"action": "flush", "position": str(len(data))}, b"",
                   f"commit {where} on OneLake")
        return path.abfss(self.base_url)

    def _call(self, method: str, url: str, params: dict[str, str], body: bytes, what: str,
              *, retry_401: bool = False) -> Response:
        headers = {"x-ms-version": ADLS_API_VERSION, "Content-Length": str(len(body))}
        if body:
            headers["Content-Type"] = "application/octet-stream"
        response = send(self._http, method, url, what=what, read_timeout=self.timeout[1],
                        params=params, data=body, headers=headers, timeout=self.timeout)
        if response.status_code == 401 and retry_401:  # a cached token gone stale: once more
            self._auth.force_refresh()
            response = send(self._http, method, url, what=what, read_timeout=self.timeout[1],
                            params=params, data=body, headers=headers, timeout=self.timeout)
        if response.status_code in (401, 403):
            raise _denied(response, what)
        if not 200 <= response.status_code < 300:
            raise error_from_response(response, what=what)
        return response


def _denied(response: Response, what: str) -> AuthError:
    """OneLake's 401/403 in plain words (ADLS errors: ``{"error": {"code", "message"}}``)."""
    try:
        body: Any = json.loads(response.text or "null")
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
    code = error.get("code") or response.headers.get("x-ms-error-code")
    rid = request_id_of(response, body)
    return AuthError(
        f"OneLake refused the request (HTTP {response.status_code}"
        + (f" {code}" if code else "") + f") while trying to {what}. Sign in as someone who may "
        f"write to the lakehouse (a workspace Contributor); the token is asked for {ONELAKE_SCOPE}."
        + (f" (requestId {rid})" if rid else ""))
