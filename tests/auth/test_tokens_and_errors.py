"""Environment tokens, Azure credentials, the factory, and the words for Fabric's 401/403."""

from __future__ import annotations

import time

import pytest

from fabric_livy_magics.auth.providers import (
    AzureCredentialProvider,
    DeviceCodeProvider,
    EnvironmentTokenProvider,
    InteractiveBrowserProvider,
    ServicePrincipalProvider,
    explain_fabric_denial,
    provider_from_settings,
    token_claims,
)
from fabric_livy_magics.auth.settings import AuthSettings
from fabric_livy_magics.errors import AuthError, ConfigurationError
from tests.auth.idp import unsigned_jwt
from tests.secret_scan import register_secret


def _jwt(**claims):
    token = unsigned_jwt(claims)
    register_secret(token)
    return token


def test_environment_token_reads_expiry_and_account_from_the_jwt(clean_env):
    exp = int(time.time()) + 1800
    token = _jwt(exp=exp, upn="ci@contoso.test", aud="https://api.fabric.microsoft.com")
    clean_env.setenv("FABRIC_ACCESS_TOKEN", f"Bearer {token}")
    got = EnvironmentTokenProvider().get_token()
    assert got.token == token and got.expires_on == exp and got.account == "ci@contoso.test"
    assert token not in repr(got) and token not in repr(EnvironmentTokenProvider())


def test_environment_token_that_is_not_a_jwt_never_expires(clean_env):
    clean_env.setenv("MY_TOKEN", "opaque-local-token-1")
    register_secret("opaque-local-token-1")
    got = EnvironmentTokenProvider("MY_TOKEN").get_token()
    assert got.expires_on == float("inf") and got.account == "token from MY_TOKEN"


def test_environment_token_errors(clean_env):
    with pytest.raises(AuthError, match="FABRIC_ACCESS_TOKEN is not set"):
        EnvironmentTokenProvider().get_token()
    clean_env.setenv("FABRIC_ACCESS_TOKEN", _jwt(exp=int(time.time()) - 10))
    with pytest.raises(AuthError, match="expired at"):
        EnvironmentTokenProvider().get_token()


def test_environment_token_refused_twice_gives_up_then_picks_up_a_new_value(clean_env):
    clean_env.setenv("FABRIC_ACCESS_TOKEN", "first-opaque-token-1")
    register_secret("first-opaque-token-1")
    provider = EnvironmentTokenProvider()
    provider.get_token(force_refresh=True)  # the first 401: try once more with what we have
    with pytest.raises(AuthError, match="refused the token in FABRIC_ACCESS_TOKEN") as info:
        provider.get_token(force_refresh=True)
    assert "first-opaque-token-1" not in str(info.value)
    clean_env.setenv("FABRIC_ACCESS_TOKEN", "second-opaque-token-2")
    register_secret("second-opaque-token-2")
    assert provider.get_token(force_refresh=True).token == "second-opaque-token-2"


def test_factory_picks_the_provider_by_method(clean_env):
    base = AuthSettings(client_id="c", tenant_id="t", client_secret="secret-value-123")
    assert isinstance(provider_from_settings(base.replace(method="interactive")),
                      InteractiveBrowserProvider)
    assert isinstance(provider_from_settings(base.replace(method="device-code")), DeviceCodeProvider)
    assert isinstance(provider_from_settings(base.replace(method="service-principal")),
                      ServicePrincipalProvider)
    assert isinstance(provider_from_settings(base.replace(method="azure-cli")),
                      AzureCredentialProvider)
    assert isinstance(provider_from_settings(base.replace(method="environment")),
                      EnvironmentTokenProvider)
    assert provider_from_settings(base.replace(method="none")) is None
    with pytest.raises(ConfigurationError, match="AZURE_CLIENT_ID"):
        provider_from_settings(AuthSettings(method="device-code"))


def test_azure_cli_without_a_cli_sign_in_is_explained(clean_env, tmp_path):
    clean_env.setenv("PATH", str(tmp_path))  # no `az` on the path: as on a machine without it
    provider = AzureCredentialProvider(AuthSettings(method="azure-cli", http_timeout=10), kind="cli")
    with pytest.raises(AuthError, match="az login"):
        provider.get_token()


def test_azure_extra_missing_names_the_extra(clean_env, monkeypatch):
    import sys

    # Simulates an install without the [azure] extra: azure-identity is installed here.
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    provider = AzureCredentialProvider(AuthSettings(), kind="default")
    with pytest.raises(ConfigurationError, match=r"fabric-livy-magics\[azure\]"):
        provider.get_token()


def test_token_claims_tolerates_non_jwts():
    assert token_claims("not-a-jwt") == {}
    assert token_claims("a.b.c") == {}
    assert token_claims(unsigned_jwt({"exp": 5}))["exp"] == 5


def test_fabric_403_names_the_missing_delegated_scopes():
    token = _jwt(aud="https://api.fabric.microsoft.com", upn="ada@contoso.test",
                 scp="Lakehouse.Read.All Item.ReadWrite.All")
    words = explain_fabric_denial(403, error_code="InsufficientScopes", token=token)
    assert words.startswith("ada@contoso.test lacks the delegated Fabric permission(s)")
    assert "Lakehouse.Execute.All" in words and "Code.AccessStorage.All" in words
    assert "Lakehouse.Read.All," not in words and token not in words


def test_fabric_403_with_all_scopes_names_the_contributor_role():
    token = _jwt(aud="https://api.fabric.microsoft.com", upn="ada@contoso.test",
                 scp=" ".join(s.rsplit("/", 1)[1] for s in AuthSettings().effective_scopes()))
    words = explain_fabric_denial(403, error_code="InsufficientPrivileges", token=token)
    assert "Contributor role" in words and "ada@contoso.test" in words


def test_fabric_403_for_a_service_principal_and_scope_from_header():
    app = _jwt(aud="https://api.fabric.microsoft.com", appid="app-1", roles=[])
    assert "service principal to the workspace as Contributor" in explain_fabric_denial(
        403, token=app, method="service-principal")
    words = explain_fabric_denial(
        403, www_authenticate='Bearer error="insufficient_scope", '
                              'scope="https://api.fabric.microsoft.com/Lakehouse.Execute.All"')
    assert "Lakehouse.Execute.All" in words


def test_fabric_401_words():
    assert "expired or invalid" in explain_fabric_denial(401, error_code="TokenExpired")
    other = _jwt(aud="https://management.azure.com")
    assert "issued for 'https://management.azure.com'" in explain_fabric_denial(401, token=other)
