"""The README's two commands are the contract with a new user; CI must run exactly the second."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert first_block, "README must open with a bash block holding the two commands"
    return [line for line in first_block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_two_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert "fabric-livy demo" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci_script = (ROOT / ".ci" / "run").read_text()
    test_command = _readme_commands()[1]
    assert test_command in ci_script.splitlines()


def test_every_test_file_lives_under_tests():
    assert (ROOT / "pyproject.toml").read_text().count('testpaths = ["tests"]') == 1
