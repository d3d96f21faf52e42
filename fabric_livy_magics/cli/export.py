"""``fabric-livy export NOTEBOOK.ipynb [-o job.py] [--strict]``: a notebook's remote cells as one
PySpark script, for ``spark-submit`` or a Livy batch (the translation is ``livy/export/``).

The script goes to ``-o FILE`` or stdout; what was left out and what could not be translated is
said on stderr, by cell number. Exit status: 0 written; 2 for a notebook that cannot be read,
or, with ``--strict``, one with a cell no job can run (nothing is written then).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["export_file", "register", "report"]


def register(subcommands: Any) -> None:
    """Add ``export`` to the ``fabric-livy`` parser."""
    parser = subcommands.add_parser(
        "export", help="Turn a notebook's remote cells into one PySpark job script.",
        description="Write the notebook's remote cells, in order, as one PySpark script that runs "
        "under spark-submit and as a Livy batch. The cell tagged 'parameters' becomes command-line "
        "options; local cells are left out with a comment.")
    parser.add_argument("notebook", metavar="NOTEBOOK", help="The .ipynb file.")
    parser.add_argument("-o", "--output", metavar="FILE", help="Write the script here (default: stdout).")
    parser.add_argument("--strict", action="store_true",
                        help="Fail (exit 2, nothing written) when a cell cannot be translated.")
    parser.set_defaults(handler=_export_command)


def export_file(path: str | Path) -> Any:
    """The :class:`~fabric_livy_magics.livy.export.ExportResult` of the notebook at ``path``."""
    from fabric_livy_magics.livy.export import export_notebook, read_notebook

    return export_notebook(read_notebook(path), source=Path(path).name)


def report(result: Any, prog: str) -> None:
    """The summary line and each untranslated cell, on stderr."""
    print(f"{prog}: {result.summary()}", file=sys.stderr)
    for note in result.untranslated:
        print(f"{prog}: NOT translated: {note}", file=sys.stderr)


def _export_command(args: argparse.Namespace) -> int:
    result = export_file(args.notebook)
    report(result, "fabric-livy export")
    if args.strict:
        result.raise_if_untranslated()
    if args.output:
        target = Path(args.output).expanduser()
        try:
            target.write_text(result.script, encoding="utf-8")
        except OSError as exc:
            print(f"fabric-livy export: cannot write {target}: {exc.strerror}.", file=sys.stderr)
            return 1
        print(f"fabric-livy export: wrote {target}", file=sys.stderr)
    else:
        sys.stdout.write(result.script)
    return 0
