"""Token providers built on MSAL: interactive browser, device code, service principal.

Each keeps the signed-in account and asks MSAL's cache first (``acquire_token_silent``), so a
token close to expiry is refreshed with the refresh token without a new prompt. MSAL's answers
and exceptions become :class:`~fabric_livy_magics.errors.AuthError` at one boundary
(:func:`~fabric_livy_magics.auth.errors.auth_error_from_msal`).
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fabric_livy_magics.auth.base import AccessToken
from fabric_livy_magics.auth.errors import auth_error_from_msal
from fabric_livy_magics.auth.settings import AuthSettings
from fabric_livy_magics.errors import AuthError, ConfigurationError

__all__ = [
    "REFRESH_MARGIN_SECONDS",
    "DeviceCodePrompt",
    "DeviceCodeProvider",
    "InteractiveBrowserProvider",
    "ServicePrincipalProvider",
]

REFRESH_MARGIN_SECONDS = 300.0  # hand out no token that expires within five minutes

@dataclass(frozen=True)
class DeviceCodePrompt:
    """What a person needs to finish a device-code sign-in on another device."""

    user_code: str
    verification_uri: str
    message: str
    expires_on: float


def _print_prompt(prompt: DeviceCodePrompt) -> None:
    print(prompt.message, file=sys.stderr, flush=True)


def _network_error(exc: Exception, settings: AuthSettings) -> AuthError:
    return AuthError(f"Could not reach the sign-in service at {settings.authority_host} "
                     f"({type(exc).__name__}). Check the network, proxy and AZURE_AUTHORITY_HOST.")


_REDACTED_FIELDS = re.compile(
    r'("(?:device_code|code|code_verifier|client_assertion|passphrase)"\s*:\s*)"[^"]*"')


class _MsalLogRedaction:
    """MSAL's cache debug log masks tokens but prints the device code and the authorization code
    it redeemed (msal/token_cache.py ``TokenCache.add``); mask those too before any handler."""

    def filter(self, record: Any) -> bool:
        text = record.getMessage()
        cleaned = _REDACTED_FIELDS.sub(r'\1"********"', text)
        if cleaned != text:
            record.msg, record.args = cleaned, ()
        return True


_redaction_installed = False


def _install_msal_log_redaction() -> None:
    global _redaction_installed
    if not _redaction_installed:
        import logging

        logging.getLogger("msal.token_cache").addFilter(_MsalLogRedaction())
        _redaction_installed = True


class _MsalProvider:
    """Shared machinery: lazy MSAL app, one sign-in at a time, silent refresh first."""

    method = ""
    #: Whether tokens may go to the persistent cache (when the settings allow it).
    _persist_tokens = True

    def __init__(self, settings: AuthSettings, *, token_cache: Any = None) -> None:
        if not settings.client_id:
            raise ConfigurationError(
                f"The {self.method} sign-in needs an application (client) id: set AZURE_CLIENT_ID or "
                "fill in Client id. Use an app registration with the Fabric API permissions."
            )
        self.settings = settings
        self._token_cache = token_cache
        self._app: Any = None
        self._lock = threading.RLock()
        self._token: AccessToken | None = None

    def __repr__(self) -> str:
        s = self.settings
        return f"{type(self).__name__}(client_id={s.client_id!r}, tenant_id={s.tenant_id!r})"

    # -- MSAL plumbing -------------------------------------------------------------------------
    def _cache(self) -> Any:
        if self._token_cache is None:
            from fabric_livy_magics.auth.cache import memory_token_cache, open_token_cache

            persist = self._persist_tokens and self.settings.token_cache_enabled
            self._token_cache = (open_token_cache(self.settings.token_cache_path)
                                 if persist else memory_token_cache())
        return self._token_cache

    def _app_kwargs(self) -> dict[str, Any]:
        s = self.settings
        kwargs: dict[str, Any] = {"authority": s.authority, "token_cache": self._cache(),
                                  "timeout": s.http_timeout}
        if not s.instance_discovery:
            kwargs.update(instance_discovery=False, validate_authority=False)
        return kwargs

    def _build(self) -> Any:
        raise NotImplementedError

    def _msal_app(self) -> Any:
        if self._app is None:
            import requests

            _install_msal_log_redaction()
            try:
                self._app = self._build()
            except ValueError as exc:
                raise self._authority_error() from exc
            except requests.RequestException as exc:
                raise _network_error(exc, self.settings) from exc
        return self._app

    def _authority_error(self) -> AuthError:
        """MSAL's discovery failed; ask the discovery document ourselves to learn the AADSTS code."""
        import requests

        s = self.settings
        url = f"{s.authority}/v2.0/.well-known/openid-configuration"
        try:
            answer = requests.get(url, timeout=s.http_timeout).json()
        except (requests.RequestException, ValueError):
            answer = {}
        if isinstance(answer, dict) and (answer.get("error") or answer.get("error_codes")):
            return auth_error_from_msal(answer, settings=s)
        return AuthError(f"{s.authority} is not a sign-in authority MSAL can use. Check the tenant "
                         "id and the authority host.")

    def _accept(self, result: Mapping[str, Any] | None) -> AccessToken:
        if not result or "access_token" not in result:
            raise auth_error_from_msal(result or {"error": "no_token"}, settings=self.settings)
        claims = result.get("id_token_claims") or {}
        account = (claims.get("preferred_username") or claims.get("upn")
                   or self._account_name() or self.settings.client_id)
        expires_in = float(result.get("expires_in") or 3600)
        self._token = AccessToken(result["access_token"], time.time() + expires_in, account)
        return self._token

    def _account_name(self) -> str | None:
        return None

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import requests

        try:
            return fn(*args, **kwargs)
        except requests.RequestException as exc:
            raise _network_error(exc, self.settings) from exc

    # -- the TokenProvider contract ------------------------------------------------------------
    def get_token(self, *, force_refresh: bool = False) -> AccessToken:
        with self._lock:
            token = self._token
            if not force_refresh and token and not token.expires_within(REFRESH_MARGIN_SECONDS):
                return token
            result = self._acquire_silent(force_refresh)
            if not result or "access_token" not in result:
                result = self._acquire_new()
            return self._accept(result)

    def sign_in(self) -> AccessToken:
        """A token now, prompting if the cache has none. Same as ``get_token()``."""
        return self.get_token()

    def signed_in_as(self) -> str | None:
        token = self._token
        return token.account if token else None

    def _acquire_silent(self, force_refresh: bool) -> Mapping[str, Any] | None:
        raise NotImplementedError

    def _acquire_new(self) -> Mapping[str, Any]:
        raise NotImplementedError


class _PublicClientProvider(_MsalProvider):
    def __init__(self, settings: AuthSettings, *, token_cache: Any = None,
                 username: str | None = None) -> None:
        super().__init__(settings, token_cache=token_cache)
        self._username = username

    def _build(self) -> Any:
        import msal

        return msal.PublicClientApplication(self.settings.client_id, **self._app_kwargs())

    def _account_name(self) -> str | None:
        return self._username

    def _cached_account(self) -> dict[str, Any] | None:
        accounts = self._call(self._msal_app().get_accounts, username=self._username)
        return accounts[0] if accounts else None

    def _acquire_silent(self, force_refresh: bool) -> Mapping[str, Any] | None:
        account = self._cached_account()
        if account is None:
            return None
        self._username = account.get("username") or self._username
        return self._call(self._msal_app().acquire_token_silent_with_error,
                          list(self.settings.effective_scopes()), account,
                          force_refresh=force_refresh)

    def _accept(self, result: Mapping[str, Any] | None) -> AccessToken:
        token = super()._accept(result)
        self._username = token.account or self._username
        return token

    def sign_out(self) -> None:
        """Forget the signed-in account: its tokens leave the persistent cache too."""
        with self._lock:
            app = self._msal_app()
            for account in self._call(app.get_accounts, username=self._username):
                app.remove_account(account)
            self._token = None
            self._username = None


class InteractiveBrowserProvider(_PublicClientProvider):
    """Opens the system browser; MSAL listens on a loopback port for the answer (PKCE)."""

    method = "interactive"

    def __init__(self, settings: AuthSettings, *, token_cache: Any = None,
                 username: str | None = None, port: int | None = None,
                 on_auth_url: Callable[[str], None] | None = None) -> None:
        super().__init__(settings, token_cache=token_cache, username=username)
        self.port = port
        # Called with the sign-in URL when no browser could be opened (remote machine).
        self.on_auth_url = on_auth_url or (lambda url: print(
            f"Open this address in a browser to sign in: {url}", file=sys.stderr, flush=True))

    def _acquire_new(self) -> Mapping[str, Any]:
        from msal.oauth2cli.oauth2 import BrowserInteractionTimeoutError

        s = self.settings
        try:
            return self._call(
                self._msal_app().acquire_token_interactive,
                list(s.effective_scopes()), login_hint=self._username, prompt="select_account",
                timeout=s.interactive_timeout, port=self.port, auth_uri_callback=self.on_auth_url)
        except BrowserInteractionTimeoutError:
            raise AuthError(f"Browser sign-in was not completed within {s.interactive_timeout:.0f} s. "
                            "Run %livy login again, or use --method device-code on a remote "
                            "machine.") from None


class DeviceCodeProvider(_PublicClientProvider):
    """Shows a code and a URL; the person signs in on any device while we poll, with a deadline.

    ``cancel()`` (from any thread) stops a wait within about a second.
    """

    method = "device-code"

    def __init__(self, settings: AuthSettings, *, token_cache: Any = None,
                 username: str | None = None,
                 on_prompt: Callable[[DeviceCodePrompt], None] | None = None) -> None:
        super().__init__(settings, token_cache=token_cache, username=username)
        self.on_prompt = on_prompt or _print_prompt
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def _acquire_new(self) -> Mapping[str, Any]:
        s = self.settings
        self._cancel.clear()
        app = self._msal_app()
        flow = self._call(app.initiate_device_flow, scopes=list(s.effective_scopes()))
        if "user_code" not in flow:
            raise auth_error_from_msal(flow, settings=s)
        self.on_prompt(DeviceCodePrompt(
            user_code=flow["user_code"], verification_uri=flow.get("verification_uri", ""),
            message=flow.get("message", ""), expires_on=float(flow.get("expires_at", 0))))
        deadline = time.monotonic() + s.device_code_timeout

        def stop(_flow: Mapping[str, Any]) -> bool:
            return self._cancel.is_set() or time.monotonic() >= deadline

        result = self._call(app.acquire_token_by_device_flow, flow, exit_condition=stop)
        if "access_token" in result:
            return result
        if self._cancel.is_set():
            raise AuthError("Device-code sign-in was cancelled.")
        if time.monotonic() >= deadline and result.get("error") == "authorization_pending":
            raise AuthError(f"Nobody entered the device code within {s.device_code_timeout:.0f} s. "
                            "Run %livy login again.")
        return result  # an error answer: _accept maps it to words


class ServicePrincipalProvider(_MsalProvider):
    """An application signing in as itself, with a client secret or a certificate file."""

    method = "service-principal"
    _persist_tokens = False  # app tokens are cheap to get again: keep them off disk

    def __init__(self, settings: AuthSettings, *, token_cache: Any = None) -> None:
        super().__init__(settings, token_cache=token_cache)
        if not (settings.client_secret or settings.certificate_path):
            raise ConfigurationError(
                "A service principal needs a client secret (AZURE_CLIENT_SECRET) or a certificate "
                "file (AZURE_CLIENT_CERTIFICATE_PATH)."
            )
        if settings.tenant_id in ("organizations", "common", "consumers"):
            raise ConfigurationError(
                "A service principal signs in to one tenant: set AZURE_TENANT_ID to its id or domain."
            )

    def _credential(self) -> Any:
        s = self.settings
        if s.client_secret:
            return s.client_secret
        path = os.path.expanduser(s.certificate_path or "")
        if path.lower().endswith((".pfx", ".p12")):
            credential = {"private_key_pfx_path": path}
        else:
            try:
                with open(path, encoding="ascii") as handle:
                    pem = handle.read()
            except (OSError, UnicodeError) as exc:
                raise ConfigurationError(f"Cannot read certificate file {path}: "
                                         f"{getattr(exc, 'strerror', None) or type(exc).__name__}."
                                         ) from None
            key = re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----",
                            pem, re.S)
            cert = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
            if not key or not cert:
                raise ConfigurationError(f"{path} must hold both the private key and the certificate "
                                         "in PEM form (or be a .pfx file).")
            credential = {"private_key": key.group(0), "public_certificate": cert.group(0)}
        if s.certificate_password:
            credential["passphrase"] = s.certificate_password
        _check_private_key(credential, path, s.certificate_password)
        return credential

    def _build(self) -> Any:
        import msal

        return msal.ConfidentialClientApplication(
            self.settings.client_id, client_credential=self._credential(), **self._app_kwargs())

    def _acquire_silent(self, force_refresh: bool) -> Mapping[str, Any] | None:
        if force_refresh:
            self._msal_app().remove_tokens_for_client()
        return None  # acquire_token_for_client looks in its cache by itself

    def _acquire_new(self) -> Mapping[str, Any]:
        return self._call(self._msal_app().acquire_token_for_client,
                          list(self.settings.effective_scopes()))

    def sign_out(self) -> None:
        with self._lock:
            if self._app is not None:
                self._app.remove_tokens_for_client()
            self._token = None


def _check_private_key(credential: Mapping[str, Any], path: str, password: str | None) -> None:
    """Load the key once ourselves so a wrong password is a clear error, not MSAL's."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

    secret = password.encode("utf-8") if password else None
    try:
        if "private_key_pfx_path" in credential:
            with open(path, "rb") as handle:
                pkcs12.load_key_and_certificates(handle.read(), secret)
        else:
            load_pem_private_key(str(credential["private_key"]).encode("ascii"), secret)
    except OSError as exc:
        raise ConfigurationError(f"Cannot read certificate file {path}: {exc.strerror}.") from None
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"Cannot load the private key in {path}: the password (AZURE_CLIENT_CERTIFICATE_PASSWORD) "
            "is wrong or missing, or the file is not a key.") from None
