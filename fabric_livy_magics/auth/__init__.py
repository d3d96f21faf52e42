"""Sign-in: token providers the HTTP client asks for a current bearer token.

Light on purpose: MSAL, msal-extensions and azure-identity load only when a provider needs them.
Which lakehouse sessions run in (``ConnectionSettings``) is not sign-in: see ``livy/settings.py``.
"""

from fabric_livy_magics.auth.base import AccessToken, TokenProvider
from fabric_livy_magics.auth.providers import (
    AzureCredentialProvider,
    DeviceCodePrompt,
    DeviceCodeProvider,
    EnvironmentTokenProvider,
    InteractiveBrowserProvider,
    ServicePrincipalProvider,
    auth_error_from_msal,
    explain_fabric_denial,
    provider_from_settings,
    token_claims,
)
from fabric_livy_magics.auth.settings import (
    AUTH_METHODS,
    AuthSettings,
    resolve_auth_settings,
)

__all__ = [
    "AUTH_METHODS",
    "AccessToken",
    "AuthSettings",
    "AzureCredentialProvider",
    "DeviceCodePrompt",
    "DeviceCodeProvider",
    "EnvironmentTokenProvider",
    "InteractiveBrowserProvider",
    "ServicePrincipalProvider",
    "TokenProvider",
    "auth_error_from_msal",
    "explain_fabric_denial",
    "provider_from_settings",
    "resolve_auth_settings",
    "token_claims",
]
