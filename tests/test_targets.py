"""The magics and ``fabric-livy batch`` resolve where to run and how to sign in by one set of
rules (``livy/targets.py``): for each configuration, both front ends end at the same endpoint,
sign-in method and kind of token source. No server is needed: nothing here sends a request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from fabric_livy_magics.cli import build_parser
from fabric_livy_magics.cli import batch as batch_cli

WS = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
LH = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
CONNECTION = f"https://api.fabric.microsoft.com/v1/workspaces/{WS}/lakehouses/{LH}/livyApi/versions/2023-12-01/sessions"
TOKEN = {"FABRIC_LIVY_AUTH_METHOD": "environment", "FABRIC_ACCESS_TOKEN": "eyJ0ZXN0.not-a-real-token.sig"}
CLEARED = ("FABRIC_LIVY_CONNECTION_STRING", "FABRIC_WORKSPACE_ID", "FABRIC_LAKEHOUSE_ID", "FABRIC_ENVIRONMENT_ID",
           "FABRIC_LIVY_URL", "LIVY_URL", "FABRIC_LIVY_AUTH_METHOD", "FABRIC_ACCESS_TOKEN", "AZURE_CLIENT_SECRET",
           "AZURE_TENANT_ID", "AZURE_CLIENT_ID")

CASES: dict[str, tuple[dict[str, str], str, str]] = {
    # name: (environment, %livy connect options / CLI options, expected endpoint root prefix)
    "fabric connection string": ({"FABRIC_LIVY_CONNECTION_STRING": CONNECTION, **TOKEN}, "",
                                 "https://api.fabric.microsoft.com/v1/workspaces/" + WS),
    "fabric ids": ({"FABRIC_WORKSPACE_ID": WS, "FABRIC_LAKEHOUSE_ID": LH, **TOKEN}, "",
                   "https://api.fabric.microsoft.com/v1/workspaces/" + WS),
    "fabric before livy": ({"FABRIC_WORKSPACE_ID": WS, "FABRIC_LAKEHOUSE_ID": LH, "FABRIC_LIVY_URL":
                            "http://livy.example:8998", **TOKEN}, "", "https://api.fabric.microsoft.com/"),
    "livy url": ({"FABRIC_LIVY_URL": "http://livy.example:8998"}, "", "http://livy.example:8998"),
    "livy url after fabric_livy_url": ({"LIVY_URL": "http://second.example:8998",
                                        "FABRIC_LIVY_URL": "http://first.example:8998"}, "", "http://first.example"),
    "plain LIVY_URL": ({"LIVY_URL": "http://livy.internal:8998"}, "", "http://livy.internal:8998"),
    "livy with a configured sign-in": ({"FABRIC_LIVY_URL": "https://livy.example", **TOKEN}, "",
                                       "https://livy.example"),
    "explicit url and auth": ({"FABRIC_LIVY_URL": "http://ignored.example"},
                              "--url https://given.example:8998 --auth environment", "https://given.example"),
    "explicit fabric ids": (dict(TOKEN), f"--workspace {WS} --lakehouse {LH}",
                            "https://api.fabric.microsoft.com/v1/workspaces/" + WS),
    "explicit connection string": (dict(TOKEN), f"--connection-string {CONNECTION}",
                                   "https://api.fabric.microsoft.com/"),
}


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    config = Config()
    config.HistoryAccessor.enabled = False
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "fabric_livy_magics")
    yield ip
    ip.run_line_magic("unload_ext", "fabric_livy_magics")


def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str]) -> None:
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty.toml"  # no config file of the machine's user leaks in
    empty.write_text("")
    monkeypatch.setenv("FABRIC_LIVY_CONFIG", str(empty))
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def _from_magics(shell: InteractiveShell, options: str) -> tuple[str, str | None, str]:
    shell.run_line_magic("livy", f"connect {options}".strip())
    state = shell.magics_manager.registry["LivyMagics"].state
    target = state.target
    return target.endpoint.root, target.auth_method, type(target.token_provider).__name__


def _from_cli(options: str) -> tuple[str, str | None, str]:
    args = build_parser().parse_args(["batch", "status", "0", *options.split()])
    endpoint = batch_cli._endpoint(args)
    from fabric_livy_magics.livy.targets import token_source_for

    method, provider = token_source_for(endpoint, args.auth)
    assert type(batch_cli._token_source(endpoint, args.auth)) is type(provider)
    return endpoint.root, method, type(provider).__name__


@pytest.mark.parametrize("case", list(CASES))
def test_magics_and_batch_cli_resolve_the_same_target(case: str, shell: InteractiveShell,
                                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env, options, expected = CASES[case]
    _environment(monkeypatch, tmp_path, env)
    notebook = _from_magics(shell, options)
    command_line = _from_cli(options)
    assert notebook == command_line
    assert notebook[0].startswith(expected), notebook


def test_config_file_is_read_by_both(shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _environment(monkeypatch, tmp_path, dict(TOKEN))
    config = tmp_path / "config.toml"
    config.write_text(f'[connection]\nworkspace_id = "{WS}"\nlakehouse_id = "{LH}"\n')
    monkeypatch.setenv("FABRIC_LIVY_CONFIG", str(config))
    notebook, command_line = _from_magics(shell, ""), _from_cli("")
    assert notebook == command_line and WS in notebook[0] and notebook[1] == "environment"


def test_both_refuse_two_targets_with_one_message(shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path, capsys: Any) -> None:
    _environment(monkeypatch, tmp_path, {})
    from IPython.core.error import UsageError

    options = f"--url http://a.example --workspace {WS} --lakehouse {LH}"
    with pytest.raises(UsageError) as notebook:
        shell.run_line_magic("livy", f"connect {options}")
    from fabric_livy_magics.cli import main

    assert main(["batch", "status", "0", *options.split()]) == 1
    assert str(notebook.value) in capsys.readouterr().err
