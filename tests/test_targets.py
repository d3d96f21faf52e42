"""The magics and ``fabric-livy batch`` resolve where to run and how to sign in by one set of
rules (``livy/targets.py``): for each configuration, ``%livy connect``, the notebook's first cell
and the command line end at the same endpoint, sign-in method and token. No Livy server is needed:
nothing here sends a request to one."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config

from fabric_livy_magics.cli import batch as batch_cli
from fabric_livy_magics.cli import build_parser, main
from fabric_livy_magics.livy.settings import SETTINGS
from fabric_livy_magics.livy.targets import Target
from tests.secret_scan import register_secret

WS = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
LH = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
ENV_ID = "0f0e0d0c-0b0a-4909-8807-060504030201"
FABRIC = f"https://api.fabric.microsoft.com/v1/workspaces/{WS}/lakehouses/{LH}/livyApi/versions/2023-12-01"
CONNECTION = FABRIC + "/sessions"
ACCESS_TOKEN = "eyJ0ZXN0.not-a-real-token.sig"
TOKEN = {"FABRIC_LIVY_AUTH_METHOD": "environment", "FABRIC_ACCESS_TOKEN": ACCESS_TOKEN}
IDS = {"FABRIC_WORKSPACE_ID": WS, "FABRIC_LAKEHOUSE_ID": LH}
APP = {"AZURE_CLIENT_ID": "0b0b0b0b-1111-2222-3333-444444444444"}  # Entra sign-ins need an app id
CONFIG_IDS = f'[connection]\nworkspace_id = "{WS}"\nlakehouse_id = "{LH}"\n'

#: name: (environment, config file text, %livy connect / fabric-livy batch options,
#:        expected endpoint root, expected sign-in method: None when no header is sent)
CASES: dict[str, tuple[dict[str, str], str, str, str, str | None]] = {
    "connection string": ({"FABRIC_LIVY_CONNECTION_STRING": CONNECTION, **TOKEN}, "", "", FABRIC, "environment"),
    "workspace and lakehouse ids": ({**IDS, **TOKEN}, "", "", FABRIC, "environment"),
    "fabric default sign-in is interactive": ({**IDS, **APP}, "", "", FABRIC, "interactive"),
    "fabric with device code": ({**IDS, **APP, "FABRIC_LIVY_AUTH_METHOD": "device_code"}, "", "", FABRIC,
                                "device-code"),
    "fabric with no sign-in": ({**IDS, "FABRIC_LIVY_AUTH_METHOD": "none"}, "", "", FABRIC, None),
    "fabric before FABRIC_LIVY_URL": ({**IDS, "FABRIC_LIVY_URL": "http://livy.example:8998", **TOKEN}, "", "",
                                      FABRIC, "environment"),
    "FABRIC_LIVY_URL": ({"FABRIC_LIVY_URL": "http://livy.example:8998"}, "", "", "http://livy.example:8998", None),
    "LIVY_URL": ({"LIVY_URL": "http://livy.internal:8998"}, "", "", "http://livy.internal:8998", None),
    "FABRIC_LIVY_URL before LIVY_URL": ({"LIVY_URL": "http://second.example:8998",
                                         "FABRIC_LIVY_URL": "http://first.example:8998"}, "", "",
                                        "http://first.example:8998", None),
    "livy with a configured sign-in": ({"FABRIC_LIVY_URL": "https://livy.example", **TOKEN}, "", "",
                                       "https://livy.example", "environment"),
    "config file": ({"FABRIC_ACCESS_TOKEN": ACCESS_TOKEN}, CONFIG_IDS + '[auth]\nmethod = "environment"\n', "", FABRIC, "environment"),
    "config file before FABRIC_LIVY_URL": ({"FABRIC_LIVY_URL": "http://livy.example:8998", **APP}, CONFIG_IDS, "",
                                           FABRIC, "interactive"),
    "environment over config file": ({"FABRIC_LIVY_AUTH_METHOD": "azure-cli"},
                                     CONFIG_IDS + '[auth]\nmethod = "device-code"\n', "", FABRIC, "azure-cli"),
    "explicit url and auth": ({"FABRIC_LIVY_URL": "http://ignored.example", **TOKEN}, "",
                              "--url https://given.example:8998 --auth env", "https://given.example:8998",
                              "environment"),
    "explicit url over configured fabric": ({**IDS, **TOKEN}, "", "--url http://livy.example:8998",
                                            "http://livy.example:8998", "environment"),
    "explicit ids": (dict(TOKEN), "", f"--workspace {WS} --lakehouse {LH}", FABRIC, "environment"),
    "explicit connection string": (dict(TOKEN), "", f"--connection-string {CONNECTION}", FABRIC, "environment"),
    "explicit no sign-in": (IDS, "", "--auth none", FABRIC, "none"),
}


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    config = Config()
    config.HistoryAccessor.enabled = False
    ip = InteractiveShell.instance(config=config)
    loaded_before = "fabric_livy_magics" in ip.extension_manager.loaded
    ip.run_line_magic("load_ext", "fabric_livy_magics")
    yield ip
    if not loaded_before:
        ip.run_line_magic("unload_ext", "fabric_livy_magics")


@pytest.fixture()
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Set (environment, config file text): every registered variable cleared first, so that
    nothing of the machine's user leaks in; the config file is always one of ours."""

    def apply(env: dict[str, str], config_text: str = "") -> None:
        for setting in SETTINGS:
            monkeypatch.delenv(setting.name, raising=False)
        config = tmp_path / "config.toml"
        config.write_text(config_text)
        monkeypatch.setenv("FABRIC_LIVY_CONFIG", str(config))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no local server record of ours
        for name, value in env.items():
            monkeypatch.setenv(name, value)

    return apply


def _state(shell: InteractiveShell) -> Any:
    return shell.magics_manager.registry["LivyMagics"].state


def _fresh_state(shell: InteractiveShell) -> Any:
    shell.run_line_magic("unload_ext", "fabric_livy_magics")
    shell.run_line_magic("load_ext", "fabric_livy_magics")
    return _state(shell)


def _token(provider: Any) -> str | None:
    """What the Authorization header would carry (the environment's token, a server's secret)."""
    if provider is None:
        return None
    return provider.get_token().token if hasattr(provider, "get_token") else provider()


def _seen(target: Target) -> tuple[str, str | None, str, str | None]:
    provider = target.token_provider
    token = _token(provider) if target.auth_method in ("environment", "local-token") else None
    return target.endpoint.root, target.auth_method, type(provider).__name__, token


def _from_connect(shell: InteractiveShell, options: str) -> tuple[str, str | None, str, str | None]:
    with capture_output():
        shell.run_line_magic("livy", f"connect {options}".strip())
    return _seen(_state(shell).target)


def _from_first_cell(shell: InteractiveShell) -> tuple[str, str | None, str, str | None]:
    target, _ = _fresh_state(shell).ensure_target()  # what a first %%livy without connect uses
    return _seen(target)


def _from_cli(options: str) -> tuple[str, str | None, str, str | None]:
    args = build_parser().parse_args(["batch", "status", "0", *options.split()])
    return _seen(batch_cli.resolve(args))


@pytest.mark.parametrize("case", list(CASES))
def test_magics_and_batch_cli_resolve_the_same_target(case: str, shell: InteractiveShell, environment: Any) -> None:
    register_secret(ACCESS_TOKEN)  # compared here, shown nowhere
    env, config_text, options, root, method = CASES[case]
    environment(env, config_text)
    command_line = _from_cli(options)
    assert _from_connect(shell, options) == command_line
    if not options:
        assert _from_first_cell(shell) == command_line
    assert command_line[:2] == (root, method)
    if method == "environment":
        assert command_line[3] == ACCESS_TOKEN


def test_the_first_cell_takes_the_configured_fabric_environment(shell: InteractiveShell, environment: Any) -> None:
    environment({**IDS, "FABRIC_ENVIRONMENT_ID": ENV_ID, **TOKEN})
    _, options = _fresh_state(shell).ensure_target()
    assert options.environment_id == ENV_ID


def test_both_use_a_running_local_server_and_its_shared_secret(shell: InteractiveShell, environment: Any,
                                                               httpserver: Any, tmp_path: Path) -> None:
    """``--local`` finds the server this user runs (a stand-in answering /version here, so that no
    Spark starts) and signs with its shared secret, in the notebook and on the command line."""
    environment({"FABRIC_LIVY_URL": "http://ignored.example"})
    secret = "local-shared-secret-for-the-test"
    register_secret(secret)
    httpserver.expect_request("/version", headers={"Authorization": f"Bearer {secret}"}).respond_with_json(
        {"version": "0.8.0"})
    url = httpserver.url_for("/").rstrip("/")
    record = tmp_path / "cache" / "fabric-livy" / "local-server.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"url": url, "pid": os.getpid(), "token": secret}))

    command_line = _from_cli("--local")
    assert command_line == (url, "local-token", "function", secret)
    assert _from_connect(shell, "--local") == command_line
    assert _state(shell).started_server is None  # found, not started: not ours to stop


@pytest.mark.parametrize("options", [
    f"--url http://a.example --workspace {WS} --lakehouse {LH}",
    "--url http://a.example --local",
    f"--workspace {WS}",
    "--url http://a.example --auth carrier-pigeon",
    "--connection-string https://example.com/nothing-here",
    "",
])
def test_both_refuse_the_same_mistakes_with_the_same_message(options: str, shell: InteractiveShell,
                                                             environment: Any, capsys: Any) -> None:
    environment({"FABRIC_LIVY_AUTO_LOCAL": "0"})
    _fresh_state(shell)  # LivyMagics.auto_local reads the variable when the extension loads
    with pytest.raises(UsageError) as notebook:
        shell.run_line_magic("livy", f"connect {options}".strip())
    capsys.readouterr()
    assert main(["batch", "status", "0", *options.split()]) == 2  # found before anything is sent
    err = capsys.readouterr().err.strip()
    if options:
        assert err == f"fabric-livy: {notebook.value}"
    else:  # nothing configured: each says what to do in its own words
        assert "No Livy endpoint" in str(notebook.value) and "%livy connect" in str(notebook.value)
        assert "No Livy endpoint" in err and "--url" in err


def test_the_cli_starts_the_local_server_on_the_magics_spark_master(monkeypatch: pytest.MonkeyPatch,
                                                                    environment: Any) -> None:
    """FABRIC_LIVY_LOCAL_MASTER is read by both (the magics as LivyMagics.local_master's default)."""
    from fabric_livy_magics.livy.targets import configured_local_master
    from fabric_livy_magics.notebook.magics import LivyMagics

    environment({"FABRIC_LIVY_LOCAL_MASTER": "local[1]"})
    assert configured_local_master() == "local[1]" == LivyMagics().local_master
    environment({})
    assert configured_local_master() == "local[2]" == LivyMagics().local_master
