"""The cell magics Fabric and sparkmagic users type by habit, in the project's kernel.

A Fabric notebook cell starts with ``%%sql``, ``%%pyspark``, ``%%spark`` or ``%%sparkr``; in this
kernel each one means the same as ``%%livy_sql`` or ``%%livy -l KIND``, options included
(``%%sql -o top``). A name another extension already took (jupysql's ``%%sql``, say) is left alone:
the person loaded it on purpose. ``%%configure`` (session settings as JSON) comes with the
extension itself, in every shell (``commands/configure.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["HABIT_MAGICS", "register_habits"]

#: Cell magic name -> (the project's magic, options it implies).
HABIT_MAGICS: dict[str, tuple[str, str]] = {
    "sql": ("livy_sql", ""),
    "pyspark": ("livy", "-l pyspark"),
    "spark": ("livy", "-l spark"),
    "sparkr": ("livy", "-l sparkr"),
}


def _alias(shell: Any, magic: str, implied: str) -> Callable[[str, str], Any]:
    def run(line: str, cell: str) -> Any:
        return shell.run_cell_magic(magic, f"{implied} {line}".strip(), cell)

    run.__doc__ = f"Same as %%{magic} {implied}".rstrip() + " (the name Fabric notebooks use)."
    return run


def register_habits(shell: Any) -> list[str]:
    """Register the habit magics that no other extension owns; returns the names registered."""
    taken = shell.magics_manager.magics["cell"]
    registered = []
    for name, (magic, implied) in HABIT_MAGICS.items():
        if name in taken:
            continue
        shell.register_magic_function(_alias(shell, magic, implied), magic_kind="cell", magic_name=name)
        registered.append(name)
    return registered
