"""Secrets never show: a password in a URL, a storage key in --conf, and a server that echoes
the Authorization header in its error. The secret-scan plugin fails the run if any registered
value appears in any output; each test also looks itself."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from fabric_livy_magics.cli import main
from fabric_livy_magics.errors import LivyError
from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import LivyEndpoint
from tests.secret_scan import register_secret

PASSWORD = "hunter2-never-shown-81"
STORAGE_KEY = "c3RvcmFnZS1rZXktbmV2ZXItc2hvd24tNzc="


def _jwt_shaped(*parts: bytes) -> str:
    """A made-up token in a JWT's shape (what the masking must recognise), built here so that no
    token-looking text sits in the tree."""
    return ".".join(base64.urlsafe_b64encode(part).decode().rstrip("=") for part in parts)


TOKEN = _jwt_shaped(b'{"alg":"none"}', b'{"sub":"never-shown"}', b"signature-never")


@pytest.mark.parametrize("url", [f"http://:{PASSWORD}@livy.example:8998", f"http://user:{PASSWORD}@livy.example"])
def test_credentials_in_a_url_are_refused_by_the_magic_and_the_cli(shell: Any, url: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    register_secret(PASSWORD)
    with capture_output() as captured, pytest.raises(UsageError) as info:
        shell.run_line_magic("livy", f"connect --url {url}")
    assert "credentials" in str(info.value) and PASSWORD not in str(info.value)
    assert PASSWORD not in captured.stdout + captured.stderr
    assert main(["batch", "status", "1", "--url", url]) == 2  # refused before anything is sent
    err = capsys.readouterr().err
    assert "credentials" in err and PASSWORD not in err


@pytest.mark.parametrize("name", ["fs.azure.account.key.acct.dfs.core.windows.net",
                                  "spark.hadoop.fs.s3a.access.key", "fs.azure.sas.container.acct.sas"])
def test_secret_looking_conf_is_refused_without_echoing_it(shell: Any, name: str) -> None:
    register_secret(STORAGE_KEY)
    with capture_output() as captured, pytest.raises(UsageError) as info:
        shell.run_line_magic("livy", f"connect --url http://127.0.0.1:9 --conf {name}={STORAGE_KEY}")
    assert "looks like a secret" in str(info.value) and STORAGE_KEY not in str(info.value)
    assert STORAGE_KEY not in captured.stdout + captured.stderr


def test_a_server_echoing_the_token_has_it_scrubbed(httpserver: Any) -> None:
    """A 401 whose body quotes the Authorization header (some proxies do): the error shown names
    the problem, and the token is replaced."""
    register_secret(TOKEN)
    httpserver.expect_request("/sessions/1").respond_with_json(
        {"msg": f"Unauthorized: header was 'Authorization: Bearer {TOKEN}' from {TOKEN}"}, status=403)
    client = LivyClient(LivyEndpoint(httpserver.url_for("/")), lambda: TOKEN)
    try:
        with pytest.raises(LivyError) as info:  # AuthError for 401/403
            client.get_session(1)
    finally:
        client.close()
    assert TOKEN not in str(info.value) and "Bearer ****" in str(info.value)


def test_connect_to_a_dead_port_changes_nothing(shell: Any, livy_server: Any) -> None:
    """A typo in the port: refused in one line, and the notebook keeps its target and session."""
    import socket

    shell.run_line_magic("livy", f"connect --url {livy_server.url}")
    state = shell.magics_manager.registry["LivyMagics"].state
    before = state.target
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UsageError, match="Nothing answers at 127.0.0.1"):
        shell.run_line_magic("livy", f"connect --url http://127.0.0.1:{port}")
    assert state.target is before
