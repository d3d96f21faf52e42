"""Service principal sign-in through real MSAL against the local identity endpoint."""

from __future__ import annotations

import pytest

from fabric_livy_magics.auth.providers import ServicePrincipalProvider
from fabric_livy_magics.errors import AuthError
from tests.auth.conftest import TENANT, auth_settings


def test_client_secret_gets_fabric_token(idp, secret_client):
    client, secret = secret_client
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
