"""Bearer tokens against the real local server started with ``--token`` (no Spark needed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from fabric_livy_magics.auth.base import AccessToken
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint
from fabric_livy_magics.errors import AuthError
from fabric_livy_magics.server.launcher import RunningServer, start_server

from client_ids import LH, WS

GOOD = "local-test-token-0123456789"
STALE = "stale-token-abcdefghijkl"


@pytest.fixture(scope="module")
def token_server(tmp_path_factory) -> Iterator[RunningServer]:
    log_path = tmp_path_factory.mktemp("token-server") / "server.log"
    server = start_server(port=0, master="local[1]", token=GOOD, log_path=log_path)
    try:
        yield server
    finally:
        server.stop()


class RotatingProvider:
    """Hands out a stale token until forced to refresh, like a cache holding a revoked token."""

    def __init__(self) -> None:
        self.refreshes = 0

    def get_token(self, *, force_refresh: bool = False) -> AccessToken:
        if force_refresh:
            self.refreshes += 1
        return AccessToken(token=GOOD if self.refreshes else STALE, expires_on=2e9)


@pytest.mark.parametrize("shape", ["livy", "fabric"])
def test_401_forces_one_refresh_then_succeeds(token_server, shape, caplog):
    endpoint = (LivyEndpoint(token_server.url) if shape == "livy"
                else FabricEndpoint(WS, LH, base_url=token_server.url))
    provider = RotatingProvider()
    caplog.set_level(logging.DEBUG)
    with LivyClient(endpoint, provider) as client:
        assert client.list_sessions().sessions == ()
        assert provider.refreshes == 1
        client.list_sessions()  # the fresh token is used from now on
        assert provider.refreshes == 1
        assert GOOD not in repr(client) and STALE not in caplog.text and GOOD not in caplog.text


def test_wrong_token_is_an_auth_error_that_does_not_show_it(token_server):
    with LivyClient(LivyEndpoint(token_server.url), lambda: STALE) as client:
        with pytest.raises(AuthError, match="401") as info:
            client.list_sessions()
    assert STALE not in str(info.value)
