"""A pytest plugin that fails the run when a secret used by the tests shows up in any output.

Load it with ``pytest -p tests.secret_scan``. Tests (or fixtures, or a test identity provider)
call :func:`register_secret` with every token, client secret and password they use, and
:func:`register_log_file` with every log file they make something write. At the end of the session
the plugin searches, for every registered secret:

* each test report's captured sections (stdout, stderr, log records) and its failure text;
* log records emitted anywhere during the session (a root handler; the package's own loggers and
  MSAL's are lowered to DEBUG for the session so their debug lines are searched too);
* the registered log files.

A hit sets the session's exit status to "tests failed" and prints where the secret appeared,
naming it by a short SHA-256 fingerprint, never by its value.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

import pytest

__all__ = ["register_secret", "register_log_file", "fingerprint", "find_leaks"]

MIN_SECRET_LENGTH = 8  # shorter values would match by accident
_DEBUG_LOGGERS = ("fabric_livy_magics", "msal", "msal_extensions", "azure.identity")

_lock = threading.Lock()
_secrets: set[str] = set()
_log_files: set[Path] = set()
_texts: list[tuple[str, str]] = []  # (where, text)


def register_secret(value: str | bytes | None) -> None:
    """Remember ``value``: it must not appear in any captured output of this session."""
    if value is None:
        return
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if len(text) < MIN_SECRET_LENGTH:
        raise ValueError(f"Secrets shorter than {MIN_SECRET_LENGTH} characters cannot be scanned "
                         "reliably; use a longer test value.")
    with _lock:
        _secrets.add(text)


def register_log_file(path: str | os.PathLike[str]) -> None:
    """Scan this file at the end of the session (missing files are skipped)."""
    with _lock:
        _log_files.add(Path(path))


def fingerprint(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def find_leaks(texts: Iterable[tuple[str, str]], secrets: Iterable[str]) -> list[tuple[str, str]]:
    """``(where, fingerprint)`` for every secret found in every text."""
    wanted = list(secrets)
    return [(where, fingerprint(s)) for where, text in texts for s in wanted if s in text]


class _RecordingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a broken record is not our concern here
            return
        with _lock:
            # Our and MSAL's records are few: keep them all for the final scan (a secret may be
            # registered later). Of other loggers' records keep only hits on secrets known so far.
            if record.name.startswith(_DEBUG_LOGGERS) or any(s in text for s in _secrets):
                _texts.append((f"log record from {record.name}", text))


_handler = _RecordingHandler()
_saved_levels: dict[str, int] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger().addHandler(_handler)
    for name in _DEBUG_LOGGERS:
        logger = logging.getLogger(name)
        _saved_levels[name] = logger.level
        logger.setLevel(logging.DEBUG)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    with _lock:
        for title, content in report.sections:
            _texts.append((f"{report.nodeid} [{title}]", content))
        if report.longrepr is not None:
            _texts.append((f"{report.nodeid} [failure text]", report.longreprtext))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.longrepr is not None:
        with _lock:
            _texts.append((f"collection of {report.nodeid}", str(report.longrepr)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(_handler)
    for name, level in _saved_levels.items():
        logging.getLogger(name).setLevel(level)
    texts = list(_texts)
    for path in sorted(_log_files):
        try:
            texts.append((f"log file {path}", path.read_text("utf-8", errors="replace")))
        except FileNotFoundError:
            continue
    leaks = find_leaks(texts, sorted(_secrets))
    session.config.stash[_LEAKS] = leaks
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_LEAKS = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    leaks = config.stash.get(_LEAKS, [])
    terminalreporter.write_sep("=", "secret scan")
    if not leaks:
        terminalreporter.write_line(
            f"secret scan: {len(_secrets)} registered secret(s) absent from {len(_texts)} captured "
            f"text(s) and {len(_log_files)} log file(s).")
        return
    terminalreporter.write_line(f"SECRET LEAK: {len(leaks)} place(s) show a registered secret; "
                                "the run fails.", red=True, bold=True)
    for where, print_ in leaks:
        terminalreporter.write_line(f"  secret {print_} appeared in {where}", red=True)
