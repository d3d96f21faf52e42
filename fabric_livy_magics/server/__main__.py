"""``python -m fabric_livy_magics.server``: the ``serve`` subcommand alone.

The launcher uses this entry point so that starting the server needs nothing but the server
package (``fabric-livy serve`` takes the same options).
"""

from __future__ import annotations

import argparse
import sys

from fabric_livy_magics.server.cli import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fabric_livy_magics.server")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    register(subcommands)
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0].startswith("-"):
        arguments.insert(0, "serve")
    args = parser.parse_args(arguments)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
