"""The leak scanner itself must be able to fail a run, and must name secrets only by fingerprint."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LEAKY = textwrap.dedent("""
    import logging
    from tests.secret_scan import register_log_file, register_secret

    def test_prints_a_secret():
        register_secret("leaky-secret-value-0001")
        print("the value is leaky-secret-value-0001")

    def test_logs_a_secret():
        register_secret("leaky-secret-value-0002")
        logging.getLogger("fabric_livy_magics.cli.demo").debug("token=leaky-secret-value-0002")

    def test_writes_a_log_file(tmp_path):
        register_secret("leaky-secret-value-0003")
        path = tmp_path / "app.log"
        path.write_text("Authorization: Bearer leaky-secret-value-0003")
        register_log_file(path)
""")

CLEAN = textwrap.dedent("""
    from tests.secret_scan import register_secret

    def test_uses_a_secret_quietly():
        register_secret("quiet-secret-value-0001")
        print("nothing to see")
""")


def _run(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    test_file = tmp_path / "test_subject.py"
    test_file.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.secret_scan", "-p", "no:cacheprovider",
         "-o", "addopts=", "--rootdir", str(tmp_path), "-c", str(tmp_path / "none.ini"),
         str(test_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_scanner_fails_a_run_that_leaks(tmp_path):
    (tmp_path / "none.ini").write_text("[pytest]\n")
    done = _run(tmp_path, LEAKY)
    assert "3 passed" in done.stdout  # the tests themselves pass ...
    assert done.returncode == 1, done.stdout[-2000:]  # ... yet the run fails
    assert "SECRET LEAK" in done.stdout
    assert "test_prints_a_secret [Captured stdout call]" in done.stdout
    assert "log record from fabric_livy_magics.cli.demo" in done.stdout
    assert "app.log" in done.stdout
    summary = done.stdout.split("secret scan", 1)[1]
    assert "leaky-secret-value" not in summary  # reported by fingerprint only


def test_scanner_passes_a_clean_run(tmp_path):
    (tmp_path / "none.ini").write_text("[pytest]\n")
    done = _run(tmp_path, CLEAN)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 registered secret(s) absent" in done.stdout
