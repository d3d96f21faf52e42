"""Helpers shared by the jobs tests (imported by name: tests are not a package)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKSUM_NOTEBOOK = HERE / "checksum.ipynb"
WORKSPACE = "0b9c5a3e-5d1f-4c55-9a5b-1f2e3d4c5b6a"
LAKEHOUSE = "7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928"


def checksum_lines(text: str) -> list[str]:
    """The ``CHECKSUM ...`` lines a run of checksum.ipynb (or its script) printed."""
    return [line.strip() for line in text.splitlines() if line.strip().startswith("CHECKSUM ")]
