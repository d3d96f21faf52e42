"""Jobs tests: export, run and submit notebooks; ``fabric-livy`` in this process."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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

    def run(*argv: str) -> Outcome:
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


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
