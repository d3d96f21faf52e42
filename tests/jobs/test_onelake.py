"""OneLake uploads against a local HTTPS endpoint speaking the ADLS Gen2 calls they use
(create, append, flush), the bearer token checked on each; the storage token from real MSAL
against the local identity endpoint of ``tests/auth``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from fabric_livy_magics.errors import AuthError, ConfigurationError
from fabric_livy_magics.livy.endpoints import FabricEndpoint
from fabric_livy_magics.livy.onelake import ONELAKE_SCOPE, OneLakeClient, OneLakePath
from fabric_livy_magics.livy.export.placement import place_script
from tests.auth.idp import Client, Idp, start_idp
from tests.secret_scan import register_secret

from jobs_helpers import LAKEHOUSE, WORKSPACE

FILE = f"/{WORKSPACE}/{LAKEHOUSE}/Files/jobs/etl.py"


@pytest.fixture
def onelake(https_context: Any, ca_bundle: Path, jobs_env: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    """An HTTPS server on loopback that the process trusts (REQUESTS_CA_BUNDLE) for this test."""
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=https_context)
    server.start()
    jobs_env.setenv("REQUESTS_CA_BUNDLE", str(ca_bundle))
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def a_token() -> str:
    value = "storage-token-" + secrets.token_urlsafe(16)
    register_secret(value)
    return value


def expect_upload(server: HTTPServer, path: str, data: bytes, token: str) -> None:
    """The three ADLS Gen2 calls, in order, each with the token."""
    auth = {"Authorization": f"Bearer {token}", "x-ms-version": "2023-11-03"}
    server.expect_ordered_request(path, method="PUT", query_string={"resource": "file"},
                                  headers=auth, data=b"").respond_with_data("", status=201)
    server.expect_ordered_request(path, method="PATCH", query_string={"action": "append", "position": "0"},
                                  headers=auth, data=data).respond_with_data("", status=202)
    server.expect_ordered_request(path, method="PATCH",
                                  query_string={"action": "flush", "position": str(len(data))},
                                  headers=auth, data=b"").respond_with_data("", status=200)


def test_upload_creates_appends_and_flushes_with_the_bearer_token(onelake: HTTPServer) -> None:
    token = a_token()
    data = "print('ü')\n".encode()
    expect_upload(onelake, FILE, data, token)
    base = onelake.url_for("/").rstrip("/")
    with OneLakeClient(lambda: token, base_url=base) as client:
        url = client.upload(OneLakePath(WORKSPACE, LAKEHOUSE, "Files/jobs/etl.py"), data)
    onelake.check_assertions()
    assert len(onelake.log) == 3
    assert url == f"abfss://{WORKSPACE}@127.0.0.1:{onelake.port}/{LAKEHOUSE}/Files/jobs/etl.py"
    assert OneLakePath(WORKSPACE, LAKEHOUSE, "Files/a.py").abfss() == (
        f"abfss://{WORKSPACE}@onelake.dfs.fabric.microsoft.com/{LAKEHOUSE}/Files/a.py")


def test_a_stale_token_is_refreshed_once_and_a_refusal_is_one_plain_line(onelake: HTTPServer) -> None:
    stale, fresh = a_token(), a_token()
    tokens = iter([stale, fresh])
    onelake.expect_ordered_request(FILE, method="PUT", headers={"Authorization": f"Bearer {stale}"}
                                   ).respond_with_data("", status=401)
    onelake.expect_ordered_request(FILE, method="PUT", headers={"Authorization": f"Bearer {fresh}"}
                                   ).respond_with_json(
        {"error": {"code": "AuthorizationPermissionMismatch", "message": f"token {fresh} may not write"}},
        status=403, headers={"x-ms-request-id": "req-42"})
    client = OneLakeClient(lambda: next(tokens), base_url=onelake.url_for("/"))
    with pytest.raises(AuthError) as caught:
        client.upload(OneLakePath(WORKSPACE, LAKEHOUSE, "Files/jobs/etl.py"), b"x")
    message = str(caught.value)
    assert "HTTP 403 AuthorizationPermissionMismatch" in message and "requestId req-42" in message
    assert ONELAKE_SCOPE in message and fresh not in message and stale not in message
    onelake.check_assertions()


def test_tokens_go_only_over_https_and_paths_stay_in_files() -> None:
    with pytest.raises(ConfigurationError, match="plain HTTP"):
        OneLakeClient(lambda: "t" * 20, base_url="http://onelake.example.com")
    OneLakeClient(lambda: "t" * 20, base_url="http://127.0.0.1:9").close()  # loopback: tests
    for bad in ("Tables/x.py", "Files", "Files/../x.py", "/Files//x.py"):
        with pytest.raises(ConfigurationError, match="under the lakehouse's Files/"):
            OneLakePath(WORKSPACE, LAKEHOUSE, bad)


@dataclass
class RecordingIdp(Idp):
    """The identity endpoint, remembering the scope each token was asked for and the token."""

    scopes: list[str] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)

    def token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.scopes.append(form.get("scope", ""))
        status, body = super().token(tenant, form)
        if "access_token" in body:
            self.issued.append(body["access_token"])
        return status, body


def test_fabric_job_script_goes_to_onelake_with_a_storage_token(
        onelake: HTTPServer, https_context: Any, jobs_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A service principal from the environment, through real MSAL: the token OneLake sees is
    the one issued for the storage scope, and the batch gets the abfss:// URL."""
    from fabric_livy_magics.cli.jobs import storage_token_source

    idp = RecordingIdp(on_issue=register_secret)
    running = start_idp(https_context, idp)
    try:
        client_secret = "sp-secret-" + secrets.token_urlsafe(16)
        register_secret(client_secret)
        idp.clients["22222222-2222-2222-2222-222222222222"] = Client(
            "22222222-2222-2222-2222-222222222222", secret=client_secret)
        config = tmp_path / "config" / "fabric-livy-magics" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(f'[auth]\ntenant_id = "contoso-test"\nauthority_host = "{idp.authority_host}"\n'
                          "instance_discovery = false\n")
        jobs_env.setenv("AZURE_CLIENT_ID", "22222222-2222-2222-2222-222222222222")
        jobs_env.setenv("AZURE_CLIENT_SECRET", client_secret)
        jobs_env.setenv("FABRIC_LIVY_TOKEN_CACHE", "none")

        seen: list[str] = []

        def record(status: int) -> Any:
            def handler(request: Request) -> Response:
                seen.append(request.headers.get("Authorization", ""))
                return Response("", status=status)
            return handler

        script = "print('job')\n"
        path = f"/{WORKSPACE}/{LAKEHOUSE}/Files/fabric-livy-jobs/etl-1.py"
        for method, query, status in (("PUT", {"resource": "file"}, 201),
                                      ("PATCH", {"action": "append", "position": "0"}, 202),
                                      ("PATCH", {"action": "flush", "position": str(len(script))}, 200)):
            onelake.expect_ordered_request(path, method=method, query_string=query).respond_with_handler(record(status))
        endpoint = FabricEndpoint(WORKSPACE, LAKEHOUSE)  # api.fabric.microsoft.com: not loopback
        placed = place_script(script, "etl-1.py", endpoint,
                              storage_token=storage_token_source("service-principal"),
                              onelake_url=onelake.url_for("/"))
    finally:
        running.stop()
    onelake.check_assertions()
    assert idp.scopes and all(ONELAKE_SCOPE in scope.split() for scope in idp.scopes)
    assert seen == [f"Bearer {idp.issued[-1]}"] * 3
    assert placed.file == f"abfss://{WORKSPACE}@127.0.0.1:{onelake.port}/{LAKEHOUSE}/Files/fabric-livy-jobs/etl-1.py"
    assert placed.target_lakehouse == LAKEHOUSE
