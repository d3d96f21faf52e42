"""``fabric-livy``: the command line. Thin: each subcommand lives with the code it drives."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fabric_livy_magics import __version__

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fabric-livy",
        description="Run Spark on Microsoft Fabric or Apache Livy from Jupyter; serve a local Livy.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    from fabric_livy_magics.server.cli import register as register_serve

    from fabric_livy_magics.demo import register as register_demo
    from fabric_livy_magics.kernelspec import register as register_kernel

    register_serve(subcommands)
    register_demo(subcommands)
    register_kernel(subcommands)
    from fabric_livy_magics.batch_cli import register as register_batch

    register_batch(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line for the person at the terminal, not our stack
        from fabric_livy_magics.errors import LivyError

        if isinstance(exc, LivyError):
            print(f"fabric-livy: {exc}", file=sys.stderr)
            return 1
        raise
