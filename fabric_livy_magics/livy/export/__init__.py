"""From notebook to job: a notebook's remote cells as one PySpark script, its ``parameters``
cell as command-line options, and the script put where the target can read it.

* ``cells.py``       what each cell is for a job (remote Python, SQL, local, not translatable)
* ``parameters.py``  the ``parameters`` cell: typed parameters, ``--param`` values, the injected cell
* ``script.py``      the script itself and the typed :class:`ExportResult`
* ``placement.py``   where the script goes (a local file, a shared folder, OneLake): the only
  module here that writes anything

Everything but ``placement.py`` is pure: the notebook's JSON in, text and typed results out.
"""

from fabric_livy_magics.livy.export.cells import Cell, CellKind, is_remote_by_default, read_cells
from fabric_livy_magics.livy.export.parameters import (
    INJECTED_TAG,
    PARAMETERS_TAG,
    InjectedNotebook,
    Parameter,
    ParametersCell,
    find_parameters,
    inject_parameters,
    parse_values,
)
from fabric_livy_magics.livy.export.script import (
    CellNote,
    ExportResult,
    NoteKind,
    export_notebook,
    read_notebook,
)

__all__ = [
    "INJECTED_TAG",
    "PARAMETERS_TAG",
    "Cell",
    "CellKind",
    "CellNote",
    "ExportResult",
    "InjectedNotebook",
    "NoteKind",
    "Parameter",
    "ParametersCell",
    "export_notebook",
    "find_parameters",
    "inject_parameters",
    "is_remote_by_default",
    "parse_values",
    "read_cells",
    "read_notebook",
]
