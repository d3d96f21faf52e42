"""Sign-in reaches the wire: a server that demands a bearer token runs cells only with it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.utils.capture import capture_output

from fabric_livy_magics.errors import AuthError, LivyError
from fabric_livy_magics.server.launcher import start_server
from magics_helpers import reload_extension
from tests.secret_scan import register_secret

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local server of its own, started with a shared secret (``--token``)."""
    token = secrets.token_urlsafe(24)
    register_secret(token)
    server = start_server(port=0, master="local[1]", token=token,
                          log_path=tmp_path_factory.mktemp("guarded") / "server.log")
    try:
        yield server
    finally:
        server.stop()


def test_cells_run_with_the_token_from_the_environment(shell, guarded_server, monkeypatch):
    reload_extension(shell)
    monkeypatch.setenv("FABRIC_ACCESS_TOKEN", guarded_server.token)
    shell.run_line_magic("livy", f"connect --url {guarded_server.url} --auth environment")
    with capture_output() as captured:
        shell.run_cell_magic("livy", "", "print(6 * 7)")
    assert captured.stdout.strip() == "42"
    reload_extension(shell)  # stops the session on the guarded server


def test_without_a_token_the_cell_fails_in_one_line(shell, guarded_server):
    reload_extension(shell)
    shell.run_line_magic("livy", f"connect --url {guarded_server.url}")
    with capture_output() as captured:
        result = shell.run_cell("%%livy\nprint('never runs')")
    error = result.error_in_exec
    assert isinstance(error, LivyError), error
    assert isinstance(error, AuthError) or "401" in str(error)
    assert "never runs" not in captured.stdout
    assert "Traceback" not in captured.stdout  # one line, not our internals
    reload_extension(shell)


def test_login_in_text_mode_signs_the_next_session_in(shell, guarded_server, monkeypatch):
    reload_extension(shell)
    monkeypatch.setenv("FABRIC_ACCESS_TOKEN", guarded_server.token)
    shell.run_line_magic("livy", f"connect --url {guarded_server.url}")
    with capture_output() as login:
        shell.run_line_magic("livy", "login --text --method environment")
    assert guarded_server.token not in login.stdout + login.stderr
    with capture_output() as captured:
        shell.run_cell_magic("livy", "", "print('signed', 'in')")
    assert captured.stdout.strip() == "signed in"
    reload_extension(shell)
