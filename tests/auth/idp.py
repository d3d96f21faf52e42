"""A small OpenID Connect / OAuth2 identity endpoint on loopback, shaped like Microsoft Entra ID.

It serves what MSAL Python asks for over HTTPS (MSAL refuses plain-http authorities):

* ``GET  /{tenant}/v2.0/.well-known/openid-configuration``  (unknown tenant: 400, AADSTS90002)
* ``GET  /{tenant}/oauth2/v2.0/authorize``   answers an auto-submitting ``form_post`` page, as
  Entra does for an already signed-in browser (PKCE ``S256`` and ``nonce`` are kept for later)
* ``POST /{tenant}/oauth2/v2.0/devicecode``
* ``POST /{tenant}/oauth2/v2.0/token``  grants: ``client_credentials`` (secret or a certificate
  assertion checked with the registered certificate), ``urn:ietf:params:oauth:grant-type:device_code``
  (``authorization_pending`` until approved), ``authorization_code`` (PKCE checked) and
  ``refresh_token`` (rotated on every use).

Errors carry Entra's shape: ``error``, ``error_description`` ("AADSTSnnn: ..."), ``error_codes``.
Every token it issues is passed to ``on_issue`` so the test session can watch for leaks.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """A JWT with ``alg: none``: MSAL reads id tokens without checking signatures."""
    header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64url(json.dumps(claims).encode())}."


@dataclass
class Client:
    client_id: str
    secret: str | None = field(default=None, repr=False)  # repr shows in pytest failure text
    certificate_pem: bytes | None = field(default=None, repr=False)  # accepted for assertions
    consented: bool = True


@dataclass
class DeviceCode:
    client_id: str
    user_code: str
    scopes: str
    expires_at: float
    approve_after_polls: int | None  # None: nobody ever signs in
    polls: int = 0


@dataclass
class Idp:
    """State of the identity endpoint; tests change it between calls."""

    host: str = "localhost"
    port: int = 0
    tenants: set[str] = field(default_factory=lambda: {"contoso-test"})
    clients: dict[str, Client] = field(default_factory=dict)
    user: str = "ada@contoso.test"
    expires_in: int = 3600
    device_code_lifetime: int = 900
    device_poll_interval: int = 1
    approve_device_after_polls: int | None = 1
    fixed_access_token: str | None = None  # issue exactly this value (e.g. a local server's token)
    on_issue: Callable[[str], None] = lambda value: None
    log: list[tuple[str, str]] = field(default_factory=list)  # (path, grant_type or method)
    _device_codes: dict[str, DeviceCode] = field(default_factory=dict)
    _auth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def authority_host(self) -> str:
        return f"https://{self.host}:{self.port}"

    def issuer(self, tenant: str) -> str:
        return f"{self.authority_host}/{tenant}/v2.0"

    def reset(self) -> None:
        with self._lock:
            self.tenants = {"contoso-test"}
            self.clients.clear()
            self.expires_in = 3600
            self.device_poll_interval = 1
            self.approve_device_after_polls = 1
            self.device_code_lifetime = 900
            self.fixed_access_token = None
            self.log.clear()
            self._device_codes.clear()
            self._auth_codes.clear()
            self._refresh_tokens.clear()

    def grants(self) -> list[str]:
        return [what for path, what in self.log if path.endswith("/token")]

    # -- token minting ------------------------------------------------------------------------
    def _secret(self, prefix: str) -> str:
        value = f"{prefix}-{secrets.token_urlsafe(24)}"
        self.on_issue(value)
        return value

    def _access_token(self, tenant: str, subject: str, scopes: str, *, app: bool) -> str:
        if self.fixed_access_token:
            return self.fixed_access_token
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": "https://api.fabric.microsoft.com", "iss": self.issuer(tenant), "iat": now,
            "exp": now + self.expires_in, "tid": tenant, "jti": secrets.token_hex(8),
        }
        if app:
            claims.update(appid=subject, roles=[])
        else:
            claims.update(upn=subject, scp=" ".join(
                s.rsplit("/", 1)[-1] for s in scopes.split() if s.startswith("https://api.fabric")))
        token = unsigned_jwt(claims)
        self.on_issue(token)
        return token

    def _user_tokens(self, tenant: str, client_id: str, scopes: str, nonce: str | None = None
                     ) -> dict[str, Any]:
        now = int(time.time())
        oid = "00000000-0000-0000-0000-0000000000a1"
        id_claims = {"iss": self.issuer(tenant), "aud": client_id, "iat": now, "nbf": now,
                     "exp": now + 3600, "oid": oid, "sub": oid, "tid": tenant,
                     "preferred_username": self.user, "name": "Ada Lovelace"}
        if nonce:
            id_claims["nonce"] = nonce
        refresh = self._secret("rt")
        with self._lock:
            self._refresh_tokens[refresh] = {"client_id": client_id, "scopes": scopes,
                                             "tenant": tenant}
        return {
            "token_type": "Bearer", "scope": scopes, "expires_in": self.expires_in,
            "ext_expires_in": self.expires_in,
            "access_token": self._access_token(tenant, self.user, scopes, app=False),
            "refresh_token": refresh, "id_token": unsigned_jwt(id_claims),
            "client_info": _b64url(json.dumps({"uid": oid, "utid": tenant}).encode()),
        }

    # -- grants -------------------------------------------------------------------------------
    def token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        client = self.clients.get(form.get("client_id", ""))
        if client is None:
            return _error(400, "unauthorized_client", 700016,
                          f"Application with identifier '{form.get('client_id')}' was not found "
                          f"in the directory '{tenant}'.")
        scopes = form.get("scope", "")
        if grant == "client_credentials":
            return self._client_credentials(tenant, client, form, scopes)
        if not client.consented:
            return _error(400, "invalid_grant", 65001, "The user or administrator has not "
                          "consented to use the application.")
        if grant == DEVICE_CODE_GRANT:
            return self._device_grant(tenant, form)
        if grant == "authorization_code":
            return self._code_grant(tenant, client, form)
        if grant == "refresh_token":
            with self._lock:
                entry = self._refresh_tokens.pop(form.get("refresh_token", ""), None)
            if entry is None or entry["client_id"] != client.client_id:
                return _error(400, "invalid_grant", 70008, "The refresh token has expired.")
            return 200, self._user_tokens(tenant, client.client_id, scopes or entry["scopes"])
        return _error(400, "unsupported_grant_type", 70003, f"Grant {grant!r} is not supported.")

    def _client_credentials(self, tenant: str, client: Client, form: dict[str, str], scopes: str
                            ) -> tuple[int, dict[str, Any]]:
        if form.get("client_assertion_type") == ASSERTION_TYPE:
            problem = self._check_assertion(tenant, client, form.get("client_assertion", ""))
            if problem:
                return _error(401, "invalid_client", 700027, problem)
        elif client.secret is None or form.get("client_secret") != client.secret:
            return _error(401, "invalid_client", 7000215,
                          "Invalid client secret provided. Ensure the secret being sent in the "
                          "request is the client secret value, not the client secret ID.")
        if not client.consented:
            return _error(400, "invalid_grant", 65001, "The user or administrator has not "
                          "consented to use the application.")
        return 200, {"token_type": "Bearer", "expires_in": self.expires_in,
                     "ext_expires_in": self.expires_in,
                     "access_token": self._access_token(tenant, client.client_id, scopes, app=True)}

    def _check_assertion(self, tenant: str, client: Client, assertion: str) -> str | None:
        import jwt  # PyJWT, a dependency of msal
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        if client.certificate_pem is None:
            return "No certificate is registered for this application."
        cert = x509.load_pem_x509_certificate(client.certificate_pem)
        header = jwt.get_unverified_header(assertion)
        expected = _b64url(cert.fingerprint(hashes.SHA256()))
        # MSAL sends the thumbprints base64url-encoded with padding; compare without it.
        if (str(header.get("x5t#S256", "")).rstrip("=") != expected
                and str(header.get("x5t", "")).rstrip("=") != _b64url(cert.fingerprint(hashes.SHA1()))):
            return "The certificate thumbprint in the assertion is not registered."
        try:
            claims = jwt.decode(assertion, cert.public_key(), algorithms=["PS256", "RS256"],
                                audience=f"{self.authority_host}/{tenant}/oauth2/v2.0/token")
        except jwt.PyJWTError as exc:
            return f"Client assertion failed signature validation ({type(exc).__name__})."
        if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
            return "Client assertion issuer/subject is not the client id."
        return None

    def device_authorization(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        client = self.clients.get(form.get("client_id", ""))
        if client is None:
            return _error(400, "unauthorized_client", 700016, "Application not found.")
        device_code = self._secret("dc")
        user_code = secrets.token_hex(4).upper()
        with self._lock:
            self._device_codes[device_code] = DeviceCode(
                client.client_id, user_code, form.get("scope", ""),
                time.time() + self.device_code_lifetime, self.approve_device_after_polls)
        uri = f"{self.authority_host}/devicelogin"
        return 200, {"device_code": device_code, "user_code": user_code, "verification_uri": uri,
                     "expires_in": self.device_code_lifetime,
                     "interval": self.device_poll_interval,
                     "message": f"To sign in, use a web browser to open the page {uri} and enter "
                                f"the code {user_code} to authenticate."}

    def _device_grant(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            entry = self._device_codes.get(form.get("device_code", ""))
            if entry is None:
                return _error(400, "bad_verification_code", 70019, "Unknown device code.")
            if time.time() > entry.expires_at:
                return _error(400, "expired_token", 70020, "The device code has expired.")
            entry.polls += 1
            ready = entry.approve_after_polls is not None and entry.polls > entry.approve_after_polls
            if ready:
                del self._device_codes[form["device_code"]]
        if not ready:
            return _error(400, "authorization_pending", 70016,
                          "OAuth 2.0 device flow error. Authorization is pending.")
        return 200, self._user_tokens(tenant, entry.client_id, entry.scopes)

    def approve(self, user_code: str) -> None:
        with self._lock:
            for entry in self._device_codes.values():
                if entry.user_code == user_code:
                    entry.approve_after_polls = 0

    def authorize(self, tenant: str, query: dict[str, str]) -> tuple[int, str]:
        client = self.clients.get(query.get("client_id", ""))
        redirect = query.get("redirect_uri", "")
        host = urlparse(redirect).hostname
        if client is None or host not in ("localhost", "127.0.0.1"):
            return 400, "unknown client or redirect"
        if query.get("code_challenge_method") != "S256" or query.get("response_mode") != "form_post":
            return 400, "PKCE S256 and form_post are required"
        code = self._secret("ac")
        with self._lock:
            self._auth_codes[code] = {"client_id": client.client_id, "redirect_uri": redirect,
                                      "challenge": query["code_challenge"],
                                      "nonce": query.get("nonce"), "scopes": query.get("scope", "")}
        fields = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                         for k, v in (("code", code), ("state", query.get("state", ""))))
        page = (f'<html><body onload="document.forms[0].submit()"><form method="post" '
                f'action="{html.escape(redirect)}">{fields}</form></body></html>')
        return 200, page

    def _code_grant(self, tenant: str, client: Client, form: dict[str, str]
                    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            entry = self._auth_codes.pop(form.get("code", ""), None)
        if entry is None or entry["client_id"] != client.client_id:
            return _error(400, "invalid_grant", 70000, "The authorization code is not valid.")
        verifier = form.get("code_verifier", "")
        if _b64url(hashlib.sha256(verifier.encode()).digest()) != entry["challenge"]:
            return _error(400, "invalid_grant", 501481, "The code verifier does not match.")
        if form.get("redirect_uri") != entry["redirect_uri"]:
            return _error(400, "invalid_grant", 50148, "The redirect URI does not match.")
        return 200, self._user_tokens(tenant, client.client_id, entry["scopes"], entry["nonce"])

    def discovery(self, tenant: str) -> dict[str, Any]:
        base = f"{self.authority_host}/{tenant}"
        return {
            "issuer": self.issuer(tenant),
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token",
                                      DEVICE_CODE_GRANT],
        }


def _error(status: int, error: str, code: int, text: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": error, "error_description": f"AADSTS{code}: {text}",
                    "error_codes": [code], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ"),
                    "trace_id": secrets.token_hex(8), "correlation_id": secrets.token_hex(8)}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = (json.dumps(body) if content_type == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> tuple[str, str] | None:
        path = urlparse(self.path).path
        tenant, _, rest = path.lstrip("/").partition("/")
        idp = self.server.idp
        if tenant not in idp.tenants:
            self._send(*_error(400, "invalid_tenant", 90002,
                               f"Tenant '{tenant}' not found. Check to make sure you have the "
                               "correct tenant ID and are signing into the correct cloud."))
            return None
        return tenant, rest

    def do_GET(self) -> None:
        idp = self.server.idp
        idp.log.append((urlparse(self.path).path, "GET"))
        route = self._route()
        if route is None:
            return
        tenant, rest = route
        if rest == "v2.0/.well-known/openid-configuration":
            self._send(200, idp.discovery(tenant))
        elif rest == "oauth2/v2.0/authorize":
            query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            status, page = idp.authorize(tenant, query)
            self._send(status, page, "text/html")
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        idp = self.server.idp
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        idp.log.append((urlparse(self.path).path, form.get("grant_type", "POST")))
        route = self._route()
        if route is None:
            return
        tenant, rest = route
        if rest == "oauth2/v2.0/token":
            self._send(*idp.token(tenant, form))
        elif rest == "oauth2/v2.0/devicecode":
            self._send(*idp.device_authorization(tenant, form))
        else:
            self._send(404, {"error": "not_found"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    idp: Idp


@dataclass
class RunningIdp:
    idp: Idp
    server: _Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_idp(ssl_context: ssl.SSLContext, idp: Idp | None = None) -> RunningIdp:
    """Serve ``idp`` over HTTPS on a free loopback port in a daemon thread."""
    idp = idp or Idp()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
    server.idp = idp
    idp.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="test-idp", daemon=True)
    thread.start()
    return RunningIdp(idp, server, thread)
