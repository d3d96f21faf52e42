"""Endpoint URL shapes and parsing of pasted connection strings."""

from __future__ import annotations

import pytest

from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint, endpoint_from_url
from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.livy.models import StatementTarget

WS = "11111111-2222-3333-4444-555555555555"
LH = "66666666-7777-8888-9999-aaaaaaaaaaaa"
ROOT = f"https://api.fabric.microsoft.com/v1/workspaces/{WS}/lakehouses/{LH}/livyApi/versions/2023-12-01"


@pytest.mark.parametrize("suffix", ["", "/", "/sessions", "/sessions/", "/batches"])
@pytest.mark.parametrize("api", ["livyApi", "livyapi"])
def test_connection_string_variants_parse_to_the_same_endpoint(api, suffix):
    text = ROOT.replace("livyApi", api) + suffix
    endpoint = FabricEndpoint.from_connection_string(f"  {text}  ")
    assert endpoint == FabricEndpoint(WS, LH)
    assert endpoint.sessions_url() == ROOT + "/sessions"


def test_fabric_urls_for_sessions_statements_and_repls():
    endpoint = FabricEndpoint(WS, LH, base_url="http://127.0.0.1:9999/")
    root = endpoint.root
    assert root.startswith("http://127.0.0.1:9999/v1/workspaces/")
    assert endpoint.statement_url(StatementTarget("s1"), 3) == f"{root}/sessions/s1/statements/3"
    assert endpoint.cancel_statement_url(StatementTarget("s1", "r1"), 3) == (
        f"{root}/highConcurrencySessions/s1/repls/r1/statements/3/cancel")
    assert endpoint.reset_timeout_url("s1") == f"{root}/sessions/s1/reset-timeout"


def test_livy_endpoint_accepts_pasted_sessions_url_and_int_ids():
    endpoint = LivyEndpoint("http://127.0.0.1:8998/sessions/")
    assert endpoint.session_url(3) == "http://127.0.0.1:8998/sessions/3"
    assert endpoint.parse_session_id("3") == 3
    with pytest.raises(ConfigurationError, match="List sessions"):
        endpoint.parse_session_id("abc")
    with pytest.raises(ConfigurationError, match="Livy batch ids .* List batches"):
        endpoint.parse_id("abc", "batch")
    with pytest.raises(ConfigurationError, match="Fabric batch id 'abc' is not a GUID"):
        FabricEndpoint(WS, LH).parse_id("abc", "batch")


def test_bad_input_gives_one_line_configuration_errors():
    with pytest.raises(ConfigurationError, match="not a GUID"):
        FabricEndpoint("my workspace", LH)
    with pytest.raises(ConfigurationError, match="Session job connection"):
        FabricEndpoint.from_connection_string("https://example.com/nothing")
    with pytest.raises(ConfigurationError, match="http"):
        LivyEndpoint("localhost:8998")


def test_endpoint_from_url_picks_the_dialect():
    assert isinstance(endpoint_from_url(ROOT), FabricEndpoint)
    assert isinstance(endpoint_from_url("http://127.0.0.1:8998"), LivyEndpoint)
