"""Service principal sign-in through real MSAL against the local identity endpoint."""

from __future__ import annotations

import pytest

from fabric_livy_magics.auth.providers import ServicePrincipalProvider
from fabric_livy_magics.errors import AuthError
from tests.auth.conftest import TENANT, auth_settings
from tests.secret_scan import register_secret


def test_client_secret_gets_fabric_token(idp, secret_client):
    client = secret_client
    secret = client.secret
    provider = ServicePrincipalProvider(auth_settings(
        idp, method="service-principal", client_id=client.client_id, client_secret=secret))
    token = provider.get_token()
    assert token.token.count(".") == 2
    assert token.expires_on > 0 and not token.expires_within(3000)
    assert token.account == client.client_id
    assert secret not in repr(provider) and token.token not in repr(token)
    # second call: served from memory, no new request to the token endpoint
    assert provider.get_token() is token
    assert idp.grants() == ["client_credentials"]
    # after a 401 the client forces a new one
    fresh = provider.get_token(force_refresh=True)
    assert fresh.token != token.token
    assert idp.grants() == ["client_credentials", "client_credentials"]


def _write_certificate(path, password: str | None):
    """A self-signed certificate and its key in one PEM file, as AZURE_CLIENT_CERTIFICATE_PATH expects."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fabric-livy-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                  else serialization.NoEncryption())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                encryption)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    path.write_bytes(key_pem + cert_pem)
    register_secret(key_pem.decode())
    return cert_pem


@pytest.mark.parametrize("password", [None, "cert-password-123"], ids=["plain-key", "encrypted-key"])
def test_certificate_assertion_is_accepted(idp, tmp_path, password):
    from tests.auth.idp import Client

    if password:
        register_secret(password)
    cert_pem = _write_certificate(tmp_path / "sp.pem", password)
    client = Client("33333333-3333-3333-3333-333333333333", certificate_pem=cert_pem)
    idp.clients[client.client_id] = client
    provider = ServicePrincipalProvider(auth_settings(
        idp, method="service-principal", client_id=client.client_id,
        certificate_path=str(tmp_path / "sp.pem"), certificate_password=password))
    assert provider.get_token().account == client.client_id
    assert idp.grants() == ["client_credentials"]


def test_certificate_not_registered_is_explained(idp, tmp_path):
    from tests.auth.idp import Client

    _write_certificate(tmp_path / "other.pem", None)
    registered = _write_certificate(tmp_path / "registered.pem", None)
    idp.clients["44444444-4444-4444-4444-444444444444"] = Client(
        "44444444-4444-4444-4444-444444444444", certificate_pem=registered)
    provider = ServicePrincipalProvider(auth_settings(
        idp, method="service-principal", client_id="44444444-4444-4444-4444-444444444444",
        certificate_path=str(tmp_path / "other.pem")))
    with pytest.raises(AuthError, match="certificate was not accepted.*AADSTS700027"):
        provider.get_token()


def test_wrong_certificate_password_is_a_configuration_error(idp, tmp_path):
    from fabric_livy_magics.errors import ConfigurationError

    register_secret("right-password-1")
    register_secret("wrong-password-1")
    _write_certificate(tmp_path / "sp.pem", "right-password-1")
    provider = ServicePrincipalProvider(auth_settings(
        idp, method="service-principal", client_id="55555555-5555-5555-5555-555555555555",
        certificate_path=str(tmp_path / "sp.pem"), certificate_password="wrong-password-1"))
    with pytest.raises(ConfigurationError, match="password") as info:
        provider.get_token()
    assert "wrong-password-1" not in str(info.value)


def test_bad_secret_is_explained_without_the_secret(idp, secret_client):
    client = secret_client
    wrong = "not-the-secret-value-42"
    register_secret(wrong)
    provider = ServicePrincipalProvider(auth_settings(
        idp, method="service-principal", client_id=client.client_id, client_secret=wrong))
    with pytest.raises(AuthError) as info:
        provider.get_token()
    message = str(info.value)
    assert "client secret" in message and "AADSTS7000215" in message
    assert wrong not in message


def test_wrong_tenant_is_explained(idp, secret_client):
    client = secret_client
    secret = client.secret
    provider = ServicePrincipalProvider(auth_settings(
        idp, method="service-principal", tenant_id="no-such-tenant", client_id=client.client_id,
        client_secret=secret))
    with pytest.raises(AuthError, match=r"Tenant 'no-such-tenant' was not found.*AADSTS90002"):
        provider.get_token()


def test_missing_consent_is_explained(idp, secret_client):
    client = secret_client
    secret = client.secret
    client.consented = False
    provider = ServicePrincipalProvider(auth_settings(
        idp, method="service-principal", client_id=client.client_id, client_secret=secret))
    with pytest.raises(AuthError, match="no consent.*admin consent.*AADSTS65001"):
        provider.get_token()


def test_unreachable_authority_is_a_plain_error(clean_env, secret_client):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = secret_client
    secret = client.secret
    from fabric_livy_magics.auth.settings import AuthSettings

    provider = ServicePrincipalProvider(AuthSettings(
        method="service-principal", tenant_id=TENANT, authority_host=f"https://127.0.0.1:{port}",
        instance_discovery=False, client_id=client.client_id, client_secret=secret, http_timeout=5))
    with pytest.raises(AuthError, match="Could not reach the sign-in service|not a sign-in authority"):
        provider.get_token()


def test_sign_out_drops_the_app_token(idp, secret_client):
    client = secret_client
    secret = client.secret
    provider = ServicePrincipalProvider(auth_settings(
        idp, method="service-principal", client_id=client.client_id, client_secret=secret))
    provider.get_token()
    provider.sign_out()
    assert provider.signed_in_as() is None
    provider.get_token()
    assert idp.grants() == ["client_credentials", "client_credentials"]


def test_service_principal_needs_a_tenant_and_a_credential(clean_env):
    from fabric_livy_magics.auth.settings import AuthSettings
    from fabric_livy_magics.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="AZURE_CLIENT_SECRET"):
        ServicePrincipalProvider(AuthSettings(method="service-principal", client_id="x",
                                              tenant_id="t"))
    with pytest.raises(ConfigurationError, match="AZURE_TENANT_ID"):
        ServicePrincipalProvider(AuthSettings(method="service-principal", client_id="x",
                                              client_secret="s" * 10))
