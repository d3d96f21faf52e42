"""Answers no real Livy/Fabric server gives on purpose, served by pytest-httpserver.

Our local server always speaks valid JSON and has no sign-in, so malformed bodies, HTML error
pages from proxies, a 401 that a token refresh fixes, and a Fabric-style 430 on a session create
are produced here instead. Everything else is tested against the real local server.
"""

from __future__ import annotations

import json
import logging

import pytest
from werkzeug.wrappers import Request, Response

from fabric_livy_magics.auth.base import AccessToken
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint
from fabric_livy_magics.errors import (
    AuthError,
    ConfigurationError,
    LivyHTTPError,
    MalformedResponse,
    SessionNotFound,
    Throttled,
)

WS = "11111111-2222-3333-4444-555555555555"
LH = "66666666-7777-8888-9999-aaaaaaaaaaaa"
SECRET = "eyJ0eXAiOiJKV1Qi.secret-token-value"


class CountingProvider:
    """A token provider that hands out a new token each time it is forced to refresh."""

    def __init__(self) -> None:
        self.calls: list[bool] = []

    def get_token(self, *, force_refresh: bool = False) -> AccessToken:
        self.calls.append(force_refresh)
        return AccessToken(token=f"{SECRET}-{len(self.calls)}", expires_on=2e9)


def test_non_json_answer_raises_malformed_response_naming_the_url(httpserver):
    httpserver.expect_request("/sessions/1").respond_with_data("<html>oops</html>",
                                                               content_type="text/html")
    client = LivyClient(LivyEndpoint(httpserver.url_for("/")))
    with pytest.raises(MalformedResponse, match=r"/sessions/1 answered text/html"):
        client.get_session(1)


def test_html_error_page_becomes_one_line_http_error(httpserver):
    page = "<html><head><title>Error 403 Missing Required Header for CSRF</title></head><body>x</body></html>"
    httpserver.expect_request("/sessions", method="POST").respond_with_data(
        page, status=400, content_type="text/html")
    client = LivyClient(LivyEndpoint(httpserver.url_for("/")))
    with pytest.raises(LivyHTTPError) as info:
        client.create_session(kind="pyspark")
    assert "Missing Required Header for CSRF" in str(info.value)
    assert "\n" not in str(info.value) and info.value.status_code == 400


def test_fabric_error_body_keeps_error_code_and_request_id(httpserver):
    endpoint = FabricEndpoint(WS, LH, base_url=httpserver.url_for("/").rstrip("/"))
    path = endpoint.session_url("0b6e1c3a-0000-4000-8000-000000000000").split(httpserver.url_for("/").rstrip("/"))[1]
    httpserver.expect_request(path).respond_with_json(
        {"errorCode": "ItemNotFound", "message": "The session was not found", "requestId": "req-42"},
        status=404)
    client = LivyClient(endpoint)
    with pytest.raises(SessionNotFound) as info:
        client.get_session("0b6e1c3a-0000-4000-8000-000000000000")
    assert info.value.error_code == "ItemNotFound"
    assert "req-42" in str(info.value)


def test_capacity_430_on_session_create_is_retried_then_explained(httpserver):
    endpoint = FabricEndpoint(WS, LH, base_url=httpserver.url_for("/").rstrip("/"))
    path = "/" + endpoint.sessions_url().split("/", 3)[3]
    body = {"errorCode": "TooManyRequestsForCapacity", "message": "[TooManyRequestsForCapacity] busy",
            "requestId": "req-430"}
    httpserver.expect_request(path, method="POST").respond_with_json(
        body, status=430, headers={"Retry-After": "0"})
    client = LivyClient(endpoint, throttle_retries=2)
    with pytest.raises(Throttled) as info:
        client.create_session(name="x")
    assert "capacity is busy" in str(info.value) and "req-430" in str(info.value)
    assert info.value.status_code == 430
    posts = [r for r, _ in httpserver.log if r.method == "POST"]
    assert len(posts) == 3  # the first try plus two retries: a 430 is a refusal, nothing started


def test_401_refreshes_token_once_and_token_never_shows(httpserver, caplog):
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("Authorization", ""))
        if len(seen) == 1:
            return Response(json.dumps({"msg": "expired"}), status=401)
        return Response(json.dumps({"id": 1, "state": "idle"}), content_type="application/json")

    httpserver.expect_request("/sessions/1").respond_with_handler(handler)
    provider = CountingProvider()
    client = LivyClient(LivyEndpoint(httpserver.url_for("/")), provider)
    caplog.set_level(logging.DEBUG)
    assert client.get_session(1).id == 1
    assert provider.calls == [False, True]
    assert seen == [f"Bearer {SECRET}-1", f"Bearer {SECRET}-2"]
    assert SECRET not in repr(client) and SECRET not in caplog.text


def test_persistent_401_is_an_auth_error_without_the_token(httpserver):
    httpserver.expect_request("/sessions/1").respond_with_json({"msg": "nope"}, status=401)
    client = LivyClient(LivyEndpoint(httpserver.url_for("/")), lambda: SECRET)
    with pytest.raises(AuthError) as info:
        client.get_session(1)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


def test_every_request_carries_x_requested_by(httpserver):
    httpserver.expect_request("/sessions/1", method="DELETE",
                              headers={"X-Requested-By": "fabric-livy-magics"}).respond_with_json({"msg": "deleted"})
    LivyClient(LivyEndpoint(httpserver.url_for("/"))).delete_session(1)
    httpserver.check_assertions()


def test_token_is_never_sent_over_plain_http_to_a_remote_host():
    with pytest.raises(ConfigurationError, match="plain HTTP"):
        LivyClient(LivyEndpoint("http://livy.example.com:8998"), lambda: SECRET)
    # HTTPS and loopback are fine
    LivyClient(LivyEndpoint("https://livy.example.com"), lambda: SECRET).close()
    LivyClient(LivyEndpoint("http://localhost:8998"), lambda: SECRET).close()


def _jwt(claims: dict) -> str:
    import base64

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.signature"


def test_fabric_403_names_the_missing_delegated_scope(httpserver):
    """Our local server has no Entra roles or scopes, so Fabric's 403 is served here."""
    token = _jwt({"aud": "https://api.fabric.microsoft.com", "upn": "ada@contoso.com",
                  "scp": "Lakehouse.Read.All Item.ReadWrite.All"})
    endpoint = FabricEndpoint(WS, LH, base_url=httpserver.url_for("/").rstrip("/"))
    from urllib.parse import urlparse

    httpserver.expect_request(urlparse(endpoint.sessions_url()).path, method="POST").respond_with_json(
        {"errorCode": "Forbidden", "message": "Access denied", "requestId": "rq-7"}, status=403)
    client = LivyClient(endpoint, lambda: token)
    with pytest.raises(AuthError) as info:
        client.create_session(name="x")
    text = str(info.value)
    assert "ada@contoso.com" in text and "Lakehouse.Execute.All" in text and "rq-7" in text
    assert token not in text


def test_an_answer_that_trickles_in_is_abandoned_after_the_read_timeout(httpserver):
    """Each byte comes well within the read timeout, so only a bound on the whole answer ends it."""
    import time

    def trickle(request: Request) -> Response:
        def body():
            for byte in json.dumps({"id": 1, "state": "idle", "kind": "pyspark"}).encode():
                time.sleep(0.3)
                yield bytes([byte])
        return Response(body(), content_type="application/json")

    httpserver.expect_request("/sessions/1").respond_with_handler(trickle)
    client = LivyClient(LivyEndpoint(httpserver.url_for("/")), timeout=(1.0, 1.0))
    began = time.monotonic()
    with pytest.raises(Exception) as info:
        client.get_session(1)
    assert type(info.value).__name__ == "LivyConnectionError"
    assert "too slowly" in str(info.value) and "/sessions/1" in str(info.value)
    assert time.monotonic() - began < 5


def test_a_server_that_ignores_from_ends_the_listing_after_one_page(httpserver):
    """The same full page answered for every ``from``: that page is the whole listing."""
    page = {"from": 0, "total": None, "sessions": [{"id": i, "state": "idle", "kind": "pyspark"} for i in range(3)]}
    httpserver.expect_request("/sessions").respond_with_json(page)
    client = LivyClient(LivyEndpoint(httpserver.url_for("/")))
    assert [s.id for s in client.iter_sessions(page_size=3)] == [0, 1, 2]
    assert len(httpserver.log) == 2  # the second page repeated the first


@pytest.mark.parametrize("bad_id", ["a/b", "x y", "[[]]", "ä" * 3])
def test_a_created_session_whose_id_cannot_be_used_is_refused_at_once(httpserver, bad_id):
    httpserver.expect_request("/sessions", method="POST").respond_with_json({"id": bad_id, "state": "starting"})
    client = LivyClient(LivyEndpoint(httpserver.url_for("/")))
    with pytest.raises(MalformedResponse, match="cannot be used in a URL"):
        client.create_session(kind="pyspark")
    assert len(httpserver.log) == 1
