"""Token providers: one per way a person or a program signs in to Microsoft Entra ID.

Each provider satisfies :class:`~fabric_livy_magics.auth.base.TokenProvider`. The MSAL-based ones
(browser, device code, service principal) live in ``msal_providers.py``; here are the others (an
existing Azure credential, a token from the environment) and ``provider_from_settings``, which
picks one by method name.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from fabric_livy_magics.auth.base import AccessToken, TokenProvider
from fabric_livy_magics.auth.errors import (
    account_from_claims,
    auth_error_from_msal,
    explain_fabric_denial,
    token_claims,
)
from fabric_livy_magics.auth.msal_providers import (
    REFRESH_MARGIN_SECONDS,
    DeviceCodePrompt,
    DeviceCodeProvider,
    InteractiveBrowserProvider,
    ServicePrincipalProvider,
)
from fabric_livy_magics.auth.settings import AuthSettings
from fabric_livy_magics.errors import AuthError, ConfigurationError

__all__ = [
    "AzureCredentialProvider",
    "DeviceCodePrompt",
    "DeviceCodeProvider",
    "EnvironmentTokenProvider",
    "InteractiveBrowserProvider",
    "ServicePrincipalProvider",
    "auth_error_from_msal",
    "explain_fabric_denial",
    "provider_from_settings",
    "token_claims",
]

class AzureCredentialProvider:
    """Reuses an existing Azure sign-in (``az login``, managed identity, ...) via azure-identity."""

    def __init__(self, settings: AuthSettings, *, kind: str = "cli") -> None:
        if kind not in ("cli", "default"):
            raise ConfigurationError(f"Unknown Azure credential kind {kind!r}: use 'cli' or 'default'.")
        self.settings = settings
        self.method = f"azure-{kind}"
        self._kind = kind
        self._credential: Any = None
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AzureCredentialProvider(kind={self._kind!r})"

    def _build(self) -> Any:
        try:
            import azure.identity as identity
        except ImportError:
            raise ConfigurationError(
                "The azure-cli / azure-default sign-in needs azure-identity: "
                "pip install 'fabric-livy-magics[azure]'.") from None
        tenant = self.settings.tenant_id
        tenant_kw = {} if tenant in ("organizations", "common") else {"tenant_id": tenant}
        if self._kind == "cli":
            return identity.AzureCliCredential(process_timeout=int(self.settings.http_timeout),
                                               **tenant_kw)
        return identity.DefaultAzureCredential(
            authority=self.settings.authority_host,
            **({"additionally_allowed_tenants": ["*"]} if tenant_kw else {}))

    def get_token(self, *, force_refresh: bool = False) -> AccessToken:
        with self._lock:
            token = self._token
            if not force_refresh and token and not token.expires_within(REFRESH_MARGIN_SECONDS):
                return token
            if self._credential is None:
                self._credential = self._build()
            from azure.core.exceptions import AzureError

            scope = self.settings.effective_scopes()[0]
            try:
                raw = self._credential.get_token(scope)
            except AzureError as exc:
                hint = "run `az login`" if self._kind == "cli" else "sign in with `az login` or set AZURE_* variables"
                raise AuthError(f"No Azure credential could give a Fabric token: {hint}. "
                                f"({type(exc).__name__})") from None
            account = account_from_claims(token_claims(raw.token))
            self._token = AccessToken(raw.token, float(raw.expires_on), account)
            return self._token

    def sign_in(self) -> AccessToken:
        return self.get_token()

    def sign_out(self) -> None:
        """Forget the token here; the Azure CLI keeps its own sign-in (``az logout``)."""
        self._token = None

    def signed_in_as(self) -> str | None:
        return self._token.account if self._token else None


class EnvironmentTokenProvider:
    """A bearer token minted elsewhere, read from an environment variable (CI, scripts).

    The variable is read on every call, so updating it takes effect without a restart.
    """

    method = "environment"

    def __init__(self, variable: str = "FABRIC_ACCESS_TOKEN",
                 environ: Mapping[str, str] | None = None) -> None:
        self.variable = variable
        self._environ = environ
        self._refused: str | None = None

    def __repr__(self) -> str:
        return f"EnvironmentTokenProvider(variable={self.variable!r})"

    def _read(self) -> str:
        env = os.environ if self._environ is None else self._environ
        value = (env.get(self.variable) or "").strip()
        if value.lower().startswith("bearer "):
            value = value[7:].strip()
        if not value:
            raise AuthError(f"{self.variable} is not set. Put a Fabric access token in it, or choose "
                            "another sign-in method.")
        return value

    def get_token(self, *, force_refresh: bool = False) -> AccessToken:
        value = self._read()
        if force_refresh:
            if self._refused == value:
                raise AuthError(f"The server refused the token in {self.variable}. Put a new token "
                                "in it (or sign in another way) and run the cell again.")
            self._refused = value  # the next forced refresh with the same value gives up
        claims = token_claims(value)
        expires_on = float(claims["exp"]) if isinstance(claims.get("exp"), (int, float)) else float("inf")
        if expires_on <= time.time():
            raise AuthError(f"The token in {self.variable} expired at "
                            f"{time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime(expires_on))}. "
                            "Put a fresh one in it.")
        account = account_from_claims(claims) or f"token from {self.variable}"
        return AccessToken(value, expires_on, account)

    def sign_in(self) -> AccessToken:
        return self.get_token()

    def sign_out(self) -> None:
        """Nothing is stored; unset the variable to stop using the token."""

    def signed_in_as(self) -> str | None:
        try:
            return self.get_token().account
        except AuthError:
            return None


def provider_from_settings(
    settings: AuthSettings,
    *,
    token_cache: Any = None,
    on_prompt: Callable[[DeviceCodePrompt], None] | None = None,
    on_auth_url: Callable[[str], None] | None = None,
) -> TokenProvider | None:
    """The provider for ``settings.method``; ``None`` for "none" (send no Authorization header)."""
    method = settings.method
    if method == "interactive":
        return InteractiveBrowserProvider(settings, token_cache=token_cache, on_auth_url=on_auth_url)
    if method == "device-code":
        return DeviceCodeProvider(settings, token_cache=token_cache, on_prompt=on_prompt)
    if method == "service-principal":
        return ServicePrincipalProvider(settings, token_cache=token_cache)
    if method in ("azure-cli", "azure-default"):
        return AzureCredentialProvider(settings, kind=method.split("-", 1)[1])
    if method == "environment":
        return EnvironmentTokenProvider(settings.token_env_var)
    if method == "none":
        return None
    raise ConfigurationError(f"Unknown sign-in method {method!r}.")
