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


def test_connect_local_starts_the_shared_server_which_outlives_the_extension(shell: Any, clean_env: Any,
                                                                             capsys: Any) -> None:
    clean_env.setenv("FABRIC_LIVY_LOCAL_WARM", "0")  # no Spark process: this test starts no session
    state = reload_extension(shell)
    shell.run_line_magic("livy", "connect --local")
    server = state.started_server
    assert server is not None and server.alive()
    assert state.target.endpoint.url == server.url and state.session is None
    shell.run_line_magic("livy", "sessions")
    assert "No sessions on" in capsys.readouterr().out
    reload_extension(shell)
    try:
        assert server.alive()  # other notebooks use it too; it stops itself once unused
    finally:
        server.stop()


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


# --- lists derived from one table: the commands, the settings ------------------------------------

def test_help_lists_every_command_of_the_table(shell: Any) -> None:
    from fabric_livy_magics.notebook.commands import HANDLERS, PARSERS

    with capture_output() as cap:
        shell.run_line_magic("livy", "help")
    for name in PARSERS:
        assert f"%livy {name}" in cap.stdout, name
    assert set(HANDLERS) <= {name.split()[0] for name in PARSERS}  # every command has its help
    assert "%livy batch submit" in cap.stdout and "%livy batches" in cap.stdout


def test_config_lists_each_registered_variable_set_secrets_masked(shell: Any, clean_env: Any, tmp_path: Any) -> None:
    from fabric_livy_magics.livy.settings import SETTINGS

    values = {"FABRIC_LIVY_LOCAL_MASTER": "local[1]", "FABRIC_LIVY_SCOPES": "https://example/.default",
              "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.us",
              "AZURE_CLIENT_SECRET": "client-secret-never-shown-5"}
    for name, value in values.items():
        clean_env.setenv(name, value)
    state = reload_extension(shell)
    with capture_output() as cap:
        shell.run_line_magic("livy", "config")
    shown = {line.split()[0]: line.split()[1] for line in cap.stdout.split("Environment:")[1].splitlines()
             if line.strip()}
    assert shown["FABRIC_LIVY_CONFIG"] == str(tmp_path / "config.toml")
    assert shown["FABRIC_LIVY_LOCAL_MASTER"] == "local[1]" == state.settings().local_master
    assert shown["AZURE_AUTHORITY_HOST"] == "https://login.microsoftonline.us"
    assert shown["AZURE_CLIENT_SECRET"] == "****" and "client-secret-never-shown-5" not in cap.stdout
    assert set(shown) <= {setting.name for setting in SETTINGS}
    reload_extension(shell)


def test_trait_help_and_defaults_come_from_the_registry(clean_env: Any) -> None:
    from fabric_livy_magics.livy.settings import SETTINGS
    from fabric_livy_magics.notebook.magics import LivyMagics

    traits = LivyMagics.class_traits(config=True)
    for setting in SETTINGS:
        if setting.sets and setting.sets.startswith("LivyMagics."):
            name = setting.sets.split(".", 1)[1]
            assert traits[name].help == f"{setting.meaning} Env {setting.name}.", name
    clean_env.setenv("FABRIC_LIVY_KEEPALIVE_INTERVAL", "42")
    assert LivyMagics().keepalive_interval == 42.0


#: Variables of the platform, not settings of ours (where files go, whether a desktop session runs).
_PLATFORM_VARIABLES = {"APPDATA", "LOCALAPPDATA", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "DBUS_SESSION_BUS_ADDRESS"}


def _variables_read(source: str) -> set[str]:
    """Names the code reads from the environment: ``os.environ.get("X")``, ``env["X"]``,
    ``os.getenv("X")``, and any ``"FABRIC_..."`` / ``"AZURE_..."`` / ``"LIVY_URL"`` string that is
    not the name of a Python object (``__all__`` entries)."""
    import ast
    import re

    tree = ast.parse(source)
    exported = {elt.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
                for elt in getattr(node.value, "elts", []) if isinstance(elt, ast.Constant)}
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value not in exported \
                and re.fullmatch(r"(?:FABRIC|AZURE)_[A-Z0-9_]+|LIVY_URL", node.value):
            names.add(node.value)
        receiver, key = None, None
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("get", "getenv", "pop"):
                receiver, key = ast.unparse(node.func.value), node.args[0].value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            receiver, key = ast.unparse(node.value), node.slice.value
        if receiver in ("os", "os.environ", "env", "environ") and isinstance(key, str):
            names.add(key)
    return names


def test_every_variable_the_client_reads_is_registered() -> None:
    """``%livy config`` lists the registry: a variable read but not registered would be invisible.
    (The local server, ``server/``, reads its own; it shares no code with the client side.)"""
    from pathlib import Path

    import fabric_livy_magics
    from fabric_livy_magics.livy.settings import SETTINGS

    package = Path(fabric_livy_magics.__file__).parent
    read: dict[str, str] = {}
    for path in package.rglob("*.py"):
        if path.relative_to(package).parts[0] != "server":
            for name in _variables_read(path.read_text(encoding="utf-8")):
                read.setdefault(name, str(path.relative_to(package)))
    assert {"FABRIC_LIVY_URL", "LIVY_URL", "FABRIC_LIVY_MAXROWS", "AZURE_CLIENT_SECRET", "XDG_CACHE_HOME"} <= set(read)
    registered = {setting.name for setting in SETTINGS}
    missing = {name: where for name, where in read.items() if name not in registered | _PLATFORM_VARIABLES}
    assert not missing, f"register these in livy/settings.SETTINGS: {missing}"
