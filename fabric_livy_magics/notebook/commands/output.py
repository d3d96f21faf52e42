"""``%livy output [--file PATH]``: the whole printed output of the last cell, when it was cut."""

from __future__ import annotations

import sys
from pathlib import Path

from IPython.core.magic_arguments import argument, magic_arguments

from fabric_livy_magics.errors import ConfigurationError
from fabric_livy_magics.notebook.commands.parsing import parse, set_prog
from fabric_livy_magics.notebook.commands.state import NotebookState
from fabric_livy_magics.notebook.display import last_output

__all__ = ["PARSERS", "output"]


@set_prog("%livy output")
@magic_arguments()
@argument("--file", metavar="PATH", help="Write it to this file instead of showing it.")
def _output(line: str) -> None:
    """Show all of the last cell's printed output (cells show at most 5,000 lines of it).

    Example: ``%livy output``, ``%livy output --file run.log``"""


PARSERS = {"output": _output}


def output(state: NotebookState, line: str) -> None:
    args = parse(_output, line)
    text = last_output()
    if text is None:
        print("No printed output yet: run a %%livy cell first.")
        return
    if args.file:
        path = Path(args.file).expanduser()
        try:
            path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"Could not write {path}: {exc.strerror or exc}.") from None
        print(f"Wrote {len(text.splitlines()):,} lines to {path}.")
        return
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
