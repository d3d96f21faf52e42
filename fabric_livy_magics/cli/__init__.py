"""``fabric-livy``: the command line. Thin: each subcommand lives with the code it drives."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from fabric_livy_magics import __version__
from fabric_livy_magics.errors import ConfigurationError, LivyError

__all__ = ["build_parser", "main"]

#: Each module adds its subcommands with ``register(subcommands)``.
_SUBCOMMAND_MODULES = (
    "fabric_livy_magics.server.cli",  # serve
    "fabric_livy_magics.cli.demo",  # demo
    "fabric_livy_magics.notebook.kernelspec",  # install-kernel, uninstall-kernel
    "fabric_livy_magics.cli.batch",  # batch
    "fabric_livy_magics.cli.export",  # export
    "fabric_livy_magics.cli.run",  # run
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fabric-livy",
        description="Run Spark on Microsoft Fabric or Apache Livy from Jupyter; serve a local Livy.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _SUBCOMMAND_MODULES:
        importlib.import_module(module).register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand. Exit status: 0 done, 1 failed (one line on stderr), 2 bad options or
    nothing to work on (as argparse does), 130 interrupted.

    Everything after a lone ``--`` is passed through untouched (``batch submit job.py -- --date
    2026-01``: arguments of the script, which may start with ``-``)."""
    words = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in words:
        at = words.index("--")
        words, passthrough = words[:at], words[at + 1:]
    parser = build_parser()
    args = parser.parse_args(words)
    args.passthrough = passthrough
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except ConfigurationError as exc:  # the options or the setup: a usage problem
        print(f"fabric-livy: {exc}", file=sys.stderr)
        return 2
    except LivyError as exc:  # one line for the person at the terminal, not our stack
        print(f"fabric-livy: {exc}", file=sys.stderr)
        return 1
