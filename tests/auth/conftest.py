"""Fixtures for sign-in tests: a local HTTPS identity endpoint, its CA, a clean environment."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    from tests.secret_scan import register_secret
except ImportError:  # pytest run without the project root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.secret_scan import register_secret

from tests.auth.idp import Client, Idp, RunningIdp, start_idp

TENANT = "contoso-test"
_AUTH_ENV = (
    "FABRIC_LIVY_AUTH_METHOD", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_AUTHORITY_HOST",
    "FABRIC_LIVY_SCOPES", "FABRIC_LIVY_TOKEN_CACHE", "FABRIC_LIVY_TOKEN_ENV_VAR",
    "FABRIC_LIVY_CONFIG", "FABRIC_WORKSPACE_ID", "FABRIC_LAKEHOUSE_ID", "FABRIC_ENVIRONMENT_ID",
    "FABRIC_LIVY_CONNECTION_STRING", "FABRIC_ACCESS_TOKEN",
)


@pytest.fixture(scope="session")
def test_ca():  # type: ignore[no-untyped-def]
    import trustme

    return trustme.CA()


@pytest.fixture(scope="session")
def ca_bundle(test_ca, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """The test CA plus the system's, so other HTTPS in the process keeps working."""
    path = tmp_path_factory.mktemp("ca") / "bundle.pem"
    system = Path("/etc/ssl/certs/ca-certificates.crt")
    extra = system.read_bytes() if system.exists() else b""
    path.write_bytes(test_ca.cert_pem.bytes() + b"\n" + extra)
    return path


@pytest.fixture(scope="session")
def running_idp(test_ca) -> Iterator[RunningIdp]:  # type: ignore[no-untyped-def]
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    running = start_idp(context, Idp(on_issue=register_secret))
    yield running
    running.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No sign-in variables from the machine; config and cache under this test's tmp_path."""
    for name in _AUTH_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)  # no keyring prompts in tests
    return monkeypatch


@pytest.fixture
def idp(running_idp: RunningIdp, ca_bundle: Path, clean_env: pytest.MonkeyPatch) -> Iterator[Idp]:
    """The identity endpoint, reset, with requests (hence MSAL) trusting its CA for this test."""
    running_idp.idp.reset()
    clean_env.setenv("REQUESTS_CA_BUNDLE", str(ca_bundle))
    yield running_idp.idp
    running_idp.idp.reset()


@pytest.fixture
def public_client(idp: Idp) -> Client:
    client = Client("11111111-1111-1111-1111-111111111111")
    idp.clients[client.client_id] = client
    return client


@pytest.fixture
def secret_client(idp: Idp) -> Client:
    import secrets

    value = "sp-secret-" + secrets.token_urlsafe(16)
    register_secret(value)
    client = Client("22222222-2222-2222-2222-222222222222", secret=value)
    idp.clients[client.client_id] = client
    return client  # the secret is client.secret: a tuple would print it in failure tracebacks


def auth_settings(idp: Idp, **changes):  # type: ignore[no-untyped-def]
    """AuthSettings pointing at the local endpoint (no instance discovery, as for any private host)."""
    from fabric_livy_magics.auth.settings import AuthSettings

    values = dict(tenant_id=TENANT, authority_host=idp.authority_host, instance_discovery=False,
                  http_timeout=10.0)
    values.update(changes)
    return AuthSettings(**values)
