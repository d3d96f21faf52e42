"""Where the first cell runs without `%livy connect`, trait precedence, and `--local`. No Spark."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.utils.capture import capture_output
from magics_helpers import LAKEHOUSE, WORKSPACE, reload_extension

from fabric_livy_magics.livy.client import LivyClient
from fabric_livy_magics.livy.endpoints import FabricEndpoint, LivyEndpoint
from fabric_livy_magics.errors import ConfigurationError, LivyTimeout

pytestmark = pytest.mark.timeout(120)

_TARGET_VARS = ("FABRIC_LIVY_CONNECTION_STRING", "FABRIC_WORKSPACE_ID", "FABRIC_LAKEHOUSE_ID",
                "FABRIC_LIVY_URL", "LIVY_URL", "FABRIC_LIVY_MAXROWS", "FABRIC_LIVY_AUTO_LOCAL",
                "FABRIC_LIVY_AUTH_METHOD", "FABRIC_ENVIRONMENT_ID")


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> pytest.MonkeyPatch:
    for name in _TARGET_VARS:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "config.toml").write_text("")  # no [connection] table: nothing configured there
    monkeypatch.setenv("FABRIC_LIVY_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return monkeypatch


def test_default_target_prefers_fabric_env_then_livy_url(shell: Any, clean_env: Any, livy_server: Any) -> None:
    clean_env.setenv("FABRIC_LIVY_URL", livy_server.url)
    state = reload_extension(shell)
    target, options = state.ensure_target()
    assert isinstance(target.endpoint, LivyEndpoint) and target.endpoint.url == livy_server.url
    assert options.kind == "pyspark" and state.session is None

    clean_env.setenv("AZURE_CLIENT_ID", "0b0b0b0b-1111-2222-3333-444444444444")
    clean_env.setenv("FABRIC_WORKSPACE_ID", WORKSPACE)
    clean_env.setenv("FABRIC_LAKEHOUSE_ID", LAKEHOUSE)
    state = reload_extension(shell)
    target, _ = state.ensure_target()
    assert isinstance(target.endpoint, FabricEndpoint) and target.endpoint.lakehouse_id == LAKEHOUSE
    assert target.auth_method == "interactive"  # a real Fabric endpoint needs a sign-in

    clean_env.setenv("FABRIC_LIVY_CONNECTION_STRING", livy_server.fabric_url(WORKSPACE, LAKEHOUSE))
    state = reload_extension(shell)
    target, _ = state.ensure_target()
    assert target.endpoint.root == livy_server.fabric_url(WORKSPACE, LAKEHOUSE)
    assert target.auth_method is None  # loopback: no sign-in
    reload_extension(shell)


def test_nothing_configured_and_auto_local_off_says_what_to_do(shell: Any, clean_env: Any) -> None:
    clean_env.setenv("FABRIC_LIVY_AUTO_LOCAL", "0")
    state = reload_extension(shell)
    with pytest.raises(ConfigurationError, match="livy connect"):
        state.ensure_target()
    reload_extension(shell)


def test_trait_precedence_default_env_config(shell: Any, clean_env: Any) -> None:
    state = reload_extension(shell)
    assert state.settings().maxrows == 2500
    clean_env.setenv("FABRIC_LIVY_MAXROWS", "77")
    state = reload_extension(shell)
    assert state.settings().maxrows == 77
    shell.run_line_magic("config", "LivyMagics.maxrows = 12")
    try:
        assert state.settings().maxrows == 12
    finally:
        shell.run_line_magic("config", "LivyMagics.maxrows = 2500")
    reload_extension(shell)


def test_connect_local_starts_a_server_and_shutdown_stops_it(shell: Any, clean_env: Any, capsys: Any) -> None:
    state = reload_extension(shell)
    shell.run_line_magic("livy", "connect --local")
    server = state.started_server
    assert server is not None and server.alive()
    assert state.target.endpoint.url == server.url and state.session is None
    shell.run_line_magic("livy", "sessions")
    assert "No sessions on" in capsys.readouterr().out
    reload_extension(shell)
    assert not server.alive()


@pytest.mark.parametrize("command", ["status", "info", "logs", "stop", "cancel"])
def test_looking_at_a_notebook_without_a_session_starts_nothing(shell: Any, clean_env: Any,
                                                               command: str) -> None:
    """Nothing is connected and auto_local is on, so only a cell may start the local server."""
    state = reload_extension(shell)
    with capture_output() as cap:
        shell.run_line_magic("livy", command)
    assert cap.stdout.startswith("No session")
    assert state.session is None and state.target is None and state.started_server is None
    reload_extension(shell)


def test_a_session_that_does_not_start_in_time_is_deleted(shell: Any, clean_env: Any,
                                                         livy_server: Any) -> None:
    clean_env.setenv("FABRIC_LIVY_START_TIMEOUT", "0.3")  # a local session takes seconds
    state = reload_extension(shell)
    shell.run_line_magic("livy", f"connect --url {livy_server.url} --name too-slow")
    with pytest.raises(LivyTimeout, match="It was deleted: run the cell again") as info:
        shell.run_cell_magic("livy", "", "1 + 1")
    [line] = info.value._render_traceback_()
    assert "was not ready after 0.3 s" in line
    assert not state.session.started
    with LivyClient(livy_server.url) as client:
        assert not [s for s in client.iter_sessions() if s.name == "too-slow"]
    reload_extension(shell)
