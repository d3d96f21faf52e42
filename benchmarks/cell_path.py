"""Which of the package's modules one ``%%livy -o df`` cell runs code in (client side).

    python benchmarks/cell_path.py [--url URL]

Starts the local server (unless ``--url`` is given), runs a warm-up cell in a real IPython shell,
then traces one ``%%livy -o df`` cell with ``sys.setprofile`` and prints the package modules whose
functions were called, in first-call order, and their count. The server's own modules run in
other processes and are not counted.
"""

from __future__ import annotations

import argparse
import sys
from types import FrameType
from typing import Any

PACKAGE = "fabric_livy_magics"
CELL = "df = spark.range(3).selectExpr('id', 'id * 2 as twice')"


def trace_cell(shell: Any) -> list[str]:
    """Modules of the package (in first-call order) that one ``-o`` cell calls into."""
    seen: dict[str, None] = {}

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            name = frame.f_globals.get("__name__", "")
            if name.startswith(PACKAGE) and name not in seen:
                seen[name] = None

    sys.setprofile(profile)
    try:
        shell.run_cell_magic("livy", "-o df -q", CELL)
    finally:
        sys.setprofile(None)
    return list(seen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="A running Livy-compatible server (default: start the local one).")
    args = parser.parse_args()
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    server = None
    url = args.url
    if url is None:
        from fabric_livy_magics.server.launcher import start_server

        server = start_server(master="local[2]")
        url = server.url
    config = Config()
    config.HistoryAccessor.enabled = False
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("load_ext", PACKAGE)
    try:
        shell.run_line_magic("livy", f"connect --url {url}")
        shell.run_cell_magic("livy", "-o df -q", CELL)  # warm-up: session start, first imports
        modules = trace_cell(shell)
    finally:
        shell.run_line_magic("unload_ext", PACKAGE)
        if server is not None:
            server.stop()
    for name in modules:
        print(name)
    print(f"{len(modules)} package modules run code in one `%%livy -o df` cell")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
