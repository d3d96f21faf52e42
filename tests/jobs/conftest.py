"""Jobs tests: export, run and submit notebooks; ``fabric-livy`` in this process.

Until the registration lines of issue 13 are merged (``cli/__init__.py``'s module list, the
``.ipynb`` hook and options in ``cli/batch.py``), :func:`fabric_livy` adds them for the test —
the same calls those lines make. Once merged, it adds nothing.
"""

from __future__ import annotations

import argparse
import inspect
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_OUR_MODULES = ("fabric_livy_magics.cli.export", "fabric_livy_magics.cli.run")


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def jobs_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No target or sign-in from the machine; config and cache (where job scripts for a local
    server go) under this test's tmp_path."""
    for name in list(os.environ):
        if name.startswith(("FABRIC_", "AZURE_")) or name == "LIVY_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("FABRIC_LIVY_AUTO_LOCAL", "false")  # a stray remote cell must not start Spark
    return monkeypatch


@pytest.fixture
def fabric_livy(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                jobs_env: pytest.MonkeyPatch) -> Callable[..., Outcome]:
    """``fabric-livy ARGS...`` run in this process: (exit code, stdout, stderr)."""
    from fabric_livy_magics import cli
    from fabric_livy_magics.cli import batch

    missing = tuple(m for m in _OUR_MODULES if m not in cli._SUBCOMMAND_MODULES)
    monkeypatch.setattr(cli, "_SUBCOMMAND_MODULES", (*cli._SUBCOMMAND_MODULES, *missing))
    if "cli.jobs" not in inspect.getsource(batch):  # the .ipynb hook is not merged yet
        monkeypatch.setattr(batch, "register", _with_notebook_options(batch.register))
        monkeypatch.setattr(batch, "_batch_client", _placing_notebooks(batch._batch_client))

    def run(*argv: str) -> Outcome:
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


def _with_notebook_options(register: Callable[[Any], None]) -> Callable[[Any], None]:
    """``batch.register`` plus the line ``add_notebook_options(submit)``."""
    from fabric_livy_magics.cli.jobs import add_notebook_options

    def wrapped(subcommands: Any) -> None:
        register(subcommands)
        batch_parser = subcommands.choices["batch"]
        actions = next(a for a in batch_parser._actions if isinstance(a, argparse._SubParsersAction))
        add_notebook_options(actions.choices["submit"])

    return wrapped


def _placing_notebooks(batch_client: Callable[[argparse.Namespace], Any]) -> Callable[[argparse.Namespace], Any]:
    """``_submit``'s hook: a notebook PATH becomes its exported, placed script before submitting."""
    from fabric_livy_magics.cli.jobs import notebook_job

    def wrapped(args: argparse.Namespace) -> Any:
        batches = batch_client(args)
        if getattr(args, "batch_command", None) == "submit" and str(args.path).lower().endswith(".ipynb"):
            vars(args).update(vars(notebook_job(args, batches.endpoint)))
        return batches

    return wrapped


@pytest.fixture(scope="session")
def test_ca() -> Any:
    import trustme

    return trustme.CA()


@pytest.fixture(scope="session")
def ca_bundle(test_ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test CA plus the system's, for REQUESTS_CA_BUNDLE."""
    path = tmp_path_factory.mktemp("jobs-ca") / "bundle.pem"
    system = Path("/etc/ssl/certs/ca-certificates.crt")
    path.write_bytes(test_ca.cert_pem.bytes() + b"\n" + (system.read_bytes() if system.exists() else b""))
    return path


@pytest.fixture
def https_context(test_ca: Any) -> Iterator[Any]:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    yield context
