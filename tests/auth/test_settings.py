"""Configuration precedence: defaults < config file < environment < explicit arguments."""

from __future__ import annotations

import pytest

from fabric_livy_magics.auth.settings import (
    ENV_AUTH,
    FABRIC_APP_SCOPE,
    FABRIC_DELEGATED_SCOPES,
    AuthSettings,
    resolve_auth_settings,
)
from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy.settings import (
    SETTINGS,
    ConnectionSettings,
    fields_of,
    resolve_connection_settings,
)

WS = "aaaaaaaa-0000-0000-0000-000000000001"
LH = "bbbbbbbb-0000-0000-0000-000000000002"


def _config(tmp_path, text):
    path = tmp_path / "config" / "fabric-livy-magics" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_any_source(clean_env):
    settings = resolve_auth_settings()
    assert settings == AuthSettings()
    assert settings.effective_scopes() == FABRIC_DELEGATED_SCOPES
    assert settings.authority == "https://login.microsoftonline.com/organizations"


def test_each_layer_overrides_the_one_below(clean_env, tmp_path):
    _config(tmp_path, '[auth]\nmethod = "device-code"\ntenant_id = "from-file"\n'
                      'client_id = "file-client"\nauthority_host = "login.microsoftonline.us"\n')
    settings = resolve_auth_settings()
    assert (settings.method, settings.tenant_id, settings.client_id) == (
        "device-code", "from-file", "file-client")
    assert settings.authority == "https://login.microsoftonline.us/from-file"
    clean_env.setenv("AZURE_TENANT_ID", "from-env")
    clean_env.setenv("FABRIC_LIVY_AUTH_METHOD", "service_principal")
    settings = resolve_auth_settings()
    assert (settings.method, settings.tenant_id, settings.client_id) == (
        "service-principal", "from-env", "file-client")
    assert settings.effective_scopes() == (FABRIC_APP_SCOPE,)
    settings = resolve_auth_settings({"tenant_id": "explicit", "client_id": None, "method": ""})
    assert (settings.method, settings.tenant_id, settings.client_id) == (
        "service-principal", "explicit", "file-client")  # None / "" mean "not given"


def test_config_path_from_environment_and_missing_file(clean_env, tmp_path):
    path = tmp_path / "elsewhere.toml"
    path.write_text('[auth]\nscopes = ["https://api.fabric.microsoft.com/Lakehouse.Execute.All"]\n')
    clean_env.setenv("FABRIC_LIVY_CONFIG", str(path))
    assert resolve_auth_settings().scopes == ("https://api.fabric.microsoft.com/Lakehouse.Execute.All",)
    clean_env.setenv("FABRIC_LIVY_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigurationError, match="missing.toml does not exist"):
        resolve_auth_settings()


def test_config_file_may_not_hold_secrets(clean_env, tmp_path):
    _config(tmp_path, '[auth]\nclient_secret = "do-not-store-me"\n')
    with pytest.raises(ConfigurationError, match="secrets do not belong") as info:
        resolve_auth_settings()
    assert "do-not-store-me" not in str(info.value)


def test_config_errors_are_one_line(clean_env, tmp_path):
    _config(tmp_path, '[auth]\nmethod = "carrier-pigeon"\n')
    with pytest.raises(ConfigurationError, match="Unknown sign-in method 'carrier-pigeon'"):
        resolve_auth_settings()
    _config(tmp_path, '[auth]\ncolour = "blue"\n')
    with pytest.raises(ConfigurationError, match="Unknown key"):
        resolve_auth_settings()
    _config(tmp_path, "[auth\n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        resolve_auth_settings()


def test_secrets_from_environment_stay_out_of_repr(clean_env):
    clean_env.setenv("AZURE_CLIENT_SECRET", "env-secret-value-1")
    clean_env.setenv("AZURE_CLIENT_CERTIFICATE_PASSWORD", "env-cert-password-1")
    settings = resolve_auth_settings()
    assert settings.client_secret == "env-secret-value-1"
    assert "env-secret-value-1" not in repr(settings)
    assert "env-cert-password-1" not in repr(settings)


def test_token_cache_setting(clean_env, tmp_path):
    clean_env.setenv("FABRIC_LIVY_TOKEN_CACHE", "none")
    assert resolve_auth_settings().token_cache_enabled is False
    clean_env.setenv("FABRIC_LIVY_TOKEN_CACHE", str(tmp_path / "t.json"))
    settings = resolve_auth_settings()
    assert settings.token_cache_enabled and settings.token_cache_path == str(tmp_path / "t.json")


def test_connection_precedence_and_connection_string(clean_env, tmp_path):
    _config(tmp_path, f'[connection]\nworkspace_id = "{WS}"\nlakehouse_id = "{LH}"\n')
    assert resolve_connection_settings() == ConnectionSettings(WS, LH)
    other_lh = "cccccccc-0000-0000-0000-000000000003"
    clean_env.setenv("FABRIC_LAKEHOUSE_ID", other_lh)
    assert resolve_connection_settings().lakehouse_id == other_lh
    url = (f"https://api.fabric.microsoft.com/v1/workspaces/{WS.upper()}/lakehouses/{other_lh}"
           "/livyapi/versions/2023-12-01/sessions")
    conn = resolve_connection_settings({"connection_string": url})
    assert (conn.workspace_id, conn.lakehouse_id) == (WS.upper(), other_lh)
    with pytest.raises(ConfigurationError, match="not a GUID"):
        ConnectionSettings(workspace_id="my workspace")
    with pytest.raises(ConfigurationError, match="connection string has no"):
        ConnectionSettings(connection_string="https://example.com/")


def test_connection_table_keys_are_checked_by_its_reader(clean_env, tmp_path):
    _config(tmp_path, f'[connection]\nworkspace_id = "{WS}"\nlakehouse = "{LH}"\n')
    with pytest.raises(ConfigurationError, match=r"Unknown key\(s\) lakehouse in \[connection\]"):
        resolve_connection_settings()
    _config(tmp_path, '[connection]\nclient_secret = "do-not-store-me"\n')
    with pytest.raises(ConfigurationError, match="secrets do not belong"):
        resolve_connection_settings()
    _config(tmp_path, 'connection = "not a table"\n')
    with pytest.raises(ConfigurationError, match=r"\[connection\] in .* must be a table"):
        resolve_connection_settings()


def test_sign_in_variables_are_the_registered_ones():
    """``auth`` cannot import the registry (it sits below ``livy``): this holds the two together."""
    assert ENV_AUTH == fields_of("auth")
    assert {s.name for s in SETTINGS if s.secret} >= {"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD",
                                                      "FABRIC_ACCESS_TOKEN"}
    assert set(fields_of("connection").values()) == {"workspace_id", "lakehouse_id", "environment_id",
                                                     "connection_string"}


def test_old_import_path_of_connection_settings_still_works():
    from fabric_livy_magics.auth import settings

    assert settings.ConnectionSettings is ConnectionSettings
    assert settings.resolve_connection_settings is resolve_connection_settings
