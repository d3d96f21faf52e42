"""A weaker token cache is said once, in one plain sentence, not as a Python warning."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from fabric_livy_magics.auth import cache


def test_plain_file_cache_is_noted_once_without_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)  # no OS keyring here: a 0600 file
    monkeypatch.setattr(cache, "_NOTED", set())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Python warning would fail the test
        cache.open_token_cache(tmp_path / "tokens.json")
        cache.open_token_cache(tmp_path / "tokens.json")
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("Note: No OS keyring is available") and str(tmp_path) in lines[0]
    assert "Warning" not in lines[0] and ".py:" not in lines[0]
