"""The sign-in form driven like a person would, without a browser: set values, click, look."""

from __future__ import annotations

import secrets
import time

import pytest
import requests

from fabric_livy_magics.livy.settings import ConnectionSettings
from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.notebook.widgets import LoginForm, SignInResult, login_text
from tests.auth.conftest import auth_settings
from tests.secret_scan import register_log_file, register_secret

WS = "aaaaaaaa-0000-0000-0000-000000000001"
LH = "bbbbbbbb-0000-0000-0000-000000000002"


def _form(idp, **changes) -> LoginForm:
    return LoginForm(settings=auth_settings(idp, token_cache_enabled=False, **changes),
                     connection=ConnectionSettings())


def test_service_principal_sign_in_shows_who_and_clears_the_secret(idp, secret_client):
    client = secret_client
    secret = client.secret
    seen: list[SignInResult] = []
    form = LoginForm(settings=auth_settings(idp, token_cache_enabled=False),
                     connection=ConnectionSettings(), on_sign_in=seen.append)
    form.method.value = "service-principal"
    assert form.secret.layout.display is None and form.client_id.layout.display is None
    form.client_id.value = client.client_id
    form.secret.value = secret
    form.workspace.value = WS
    form.lakehouse.value = LH
    form.sign_in_button.click()
    assert form.state == "signed-in", form.error_text
    assert form.secret.value == ""  # not kept in widget state, so not saved with the notebook
    result = form.result
    assert result is not None and seen == [result]
    assert result.connection == ConnectionSettings(WS, LH)
    assert result.account == client.client_id
    assert client.client_id in form.status.value and "valid until" in form.status.value
    token = result.provider.get_token().token
    assert token not in form.status.value and secret not in repr(form.widget.get_state())
    assert form.sign_out_button.disabled is False
    form.sign_out_button.click()
    assert form.state == "signed-out" and form.result is None
    assert form.status.value == "Signed out."


def test_wrong_tenant_shows_plain_words_in_the_form(idp, secret_client):
    client = secret_client
    secret = client.secret
    form = _form(idp, method="service-principal")
    form.tenant.value = "not-our-tenant"
    form.client_id.value = client.client_id
    form.secret.value = secret
    form.sign_in_button.click()
    assert form.state == "error"
    assert "Tenant 'not-our-tenant' was not found" in form.error_text
    assert "color" in form.error.value
    assert form.secret.value == ""


def test_bad_workspace_id_is_reported_before_signing_in(idp):
    form = _form(idp, method="environment")
    form.workspace.value = "my workspace"
    form.sign_in_button.click()
    assert form.state == "error" and "not a GUID" in form.error_text
    assert idp.log == []


def test_connection_string_fills_workspace_and_lakehouse(idp, clean_env):
    clean_env.setenv("FABRIC_ACCESS_TOKEN", "plain-token-for-ci-1234")
    register_secret("plain-token-for-ci-1234")
    form = _form(idp, method="environment")
    form.connection_string.value = (f"https://api.fabric.microsoft.com/v1/workspaces/{WS}/"
                                    f"lakehouses/{LH}/livyapi/versions/2023-12-01")
    form.environment.value = "cccccccc-0000-0000-0000-000000000003"
    form.sign_in_button.click()
    assert form.state == "signed-in", form.error_text
    conn = form.result.connection
    assert (conn.workspace_id, conn.lakehouse_id) == (WS, LH)
    assert conn.environment_id == "cccccccc-0000-0000-0000-000000000003"


def test_failure_after_sign_in_shows_in_the_form_not_as_a_traceback(idp, public_client):
    def connect(result: SignInResult) -> None:
        raise ConfigurationError("That lakehouse cannot be reached. Check the connection string.")

    form = LoginForm(settings=auth_settings(idp, method="device-code", token_cache_enabled=False),
                     connection=ConnectionSettings(), on_sign_in=connect)
    form.client_id.value = public_client.client_id
    form.sign_in_button.click()  # the callback runs in the background thread
    assert form.wait(15) == "signed-in"
    assert form.error_text == "That lakehouse cannot be reached. Check the connection string."
    assert form.result is not None and form.sign_out_button.disabled is False


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_device_code_runs_in_the_background_and_shows_the_code(idp, public_client):
    idp.approve_device_after_polls = None
    form = _form(idp, method="device-code")
    form.client_id.value = public_client.client_id
    form.sign_in_button.click()  # returns at once: the wait happens in a thread
    assert _wait_for(lambda: form.state == "waiting-for-code")
    assert "/devicelogin" in form.prompt.value and "<code>" in form.prompt.value
    assert form.cancel_button.layout.display is None and form.sign_in_button.disabled
    user_code = form.prompt.value.split("<code>")[1].split("</code>")[0]
    idp.approve(user_code)  # the person enters the code on their phone
    assert form.wait(10) == "signed-in", form.error_text
    assert idp.user in form.status.value and form.prompt.value == ""


def test_device_code_cancel_button_stops_the_wait(idp, public_client):
    idp.approve_device_after_polls = None
    form = _form(idp, method="device-code", device_code_timeout=120.0)
    form.client_id.value = public_client.client_id
    form.sign_in_button.click()
    assert _wait_for(lambda: form.state == "waiting-for-code")
    form.cancel_button.click()
    assert form.wait(5) == "error"
    assert form.error_text == "Device-code sign-in was cancelled."
    assert not form.sign_in_button.disabled


def test_device_code_timeout_in_the_form(idp, public_client):
    idp.approve_device_after_polls = None
    form = _form(idp, method="device-code", device_code_timeout=1.5)
    form.client_id.value = public_client.client_id
    form.sign_in_button.click()
    assert form.wait(10) == "error"
    assert "Nobody entered the device code" in form.error_text


def test_login_text_prints_code_and_result_without_secrets(idp, public_client, tmp_path):
    lines: list[str] = []
    settings_env = {"AZURE_TENANT_ID": "contoso-test", "AZURE_AUTHORITY_HOST": idp.authority_host,
                    "FABRIC_LIVY_TOKEN_CACHE": "none", "FABRIC_WORKSPACE_ID": WS,
                    "FABRIC_LAKEHOUSE_ID": LH, "FABRIC_LIVY_CONFIG": _write_config(tmp_path)}
    result = login_text("device-code", client_id=public_client.client_id, out=lines.append,
                        environ=settings_env)
    assert result.account == idp.user and result.connection == ConnectionSettings(WS, LH)
    text = "\n".join(lines)
    assert "enter the code" in text and f"Signed in as {idp.user} (device-code)" in text
    assert result.provider.get_token().token not in text


def _write_config(folder) -> str:
    """Instance discovery is a file/explicit setting; the environment table has no variable for it."""
    path = folder / "config.toml"
    path.write_text("[auth]\ninstance_discovery = false\n")
    return str(path)


def test_login_text_asks_for_a_missing_secret(idp, secret_client, tmp_path):
    client = secret_client
    secret = client.secret
    asked = []

    def ask(prompt):
        asked.append(prompt)
        return secret

    lines: list[str] = []
    result = login_text("service-principal", tenant_id="contoso-test", client_id=client.client_id,
                        ask_secret=ask, out=lines.append,
                        environ={"AZURE_AUTHORITY_HOST": idp.authority_host,
                                 "FABRIC_LIVY_CONFIG": _write_config(tmp_path)})
    assert asked == ["Client secret: "] and result.account == client.client_id
    assert secret not in "\n".join(lines)


@pytest.fixture(scope="module")
def token_server(tmp_path_factory):
    """The local Livy server, started with --token set to a value our identity endpoint will issue."""
    launcher = pytest.importorskip("fabric_livy_magics.server.launcher")
    token = "livy-bearer-" + secrets.token_urlsafe(24)
    register_secret(token)
    log_path = tmp_path_factory.mktemp("token-server") / "server.log"
    register_log_file(log_path)
    server = launcher.start_server(port=0, token=token, log_path=log_path)
    try:
        yield server, token
    finally:
        server.stop()


def test_local_server_accepts_the_token_the_form_obtained(idp, public_client, token_server):
    server, token = token_server
    idp.fixed_access_token = token  # the identity endpoint issues exactly the server's token
    form = _form(idp, method="device-code")
    form.client_id.value = public_client.client_id
    form.sign_in_button.click()
    assert form.wait(15) == "signed-in", form.error_text
    bearer = form.result.provider.get_token()
    answer = requests.get(server.url + "/sessions",
                          headers={"Authorization": f"Bearer {bearer.token}"}, timeout=10)
    assert answer.status_code == 200, answer.text[:200]
    refused = requests.get(server.url + "/sessions", headers={"Authorization": "Bearer wrong-token"},
                           timeout=10)
    assert refused.status_code == 401


@pytest.mark.parametrize("method", ["service-principal", "device-code", "environment", "none"])
def test_choosing_a_method_hides_only_the_fields_it_does_not_use(idp, clean_env, method):
    form = LoginForm(settings=auth_settings(idp, method="device-code"))
    form.method.value = method

    def shown(widget) -> bool:
        return widget.layout.display != "none"

    # The method, the connection fields and the buttons are always there.
    for always in (form.method, form.workspace, form.lakehouse, form.connection_string,
                   form.environment, form.sign_in_button):
        assert shown(always), always.description
    assert shown(form.secret) is (method == "service-principal")
    assert shown(form.certificate_path) is (method == "service-principal")
    assert shown(form.client_id) is (method in ("device-code", "service-principal"))
    assert shown(form.tenant) is (method not in ("environment", "none"))
