"""Helpers shared by the batch tests (imported by name: tests are not a package)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psutil

WORKSPACE = "0b9c5a3e-5d1f-4c55-9a5b-1f2e3d4c5b6a"
LAKEHOUSE = "7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928"


def processes_running(path: Path) -> list[psutil.Process]:
    """Live processes (spark-submit, its JVM, the Python driver) whose command line names ``path``."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if any(str(path) in part for part in proc.info["cmdline"] or ()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def cli_env(url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a ``fabric-livy`` subprocess: only FABRIC_LIVY_URL says where to go."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FABRIC_", "AZURE_")) and k != "LIVY_URL"}
    env["FABRIC_LIVY_URL"] = url
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # no config file from the developer's home
    env["PYTHONUNBUFFERED"] = "1"
    return env


PYTHON = sys.executable
