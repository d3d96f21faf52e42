"""``fabric-livy batch submit NOTEBOOK.ipynb [--param k=v ...] [--wait]``: a notebook as a batch.

``cli/batch.py`` adds :func:`add_notebook_options` to ``batch submit`` and, when PATH ends with
``.ipynb``, calls :func:`notebook_job` before it submits: the notebook is exported
(``livy/export/``), its parameters become the script's arguments, and the script is put where
the target reads it (``livy/export/placement.py``: the local server's disk, a shared folder,
or the lakehouse's ``Files/`` on OneLake). Everything after that — submit, ``--wait``, the log
tail, the exit status — is ``batch submit`` itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_notebook_options", "notebook_job", "storage_token_source"]


def add_notebook_options(submit: argparse.ArgumentParser) -> None:
    """The options ``batch submit`` takes when PATH is a notebook."""
    group = submit.add_argument_group("when PATH is a notebook (.ipynb)")
    group.add_argument("--param", metavar="NAME=VALUE", action="append", default=[],
                       help="A value for the notebook's cell tagged 'parameters'; repeatable.")
    group.add_argument("--strict", action="store_true",
                       help="Refuse a notebook with a cell no job can run (exit 2).")
    group.add_argument("--upload-dir", metavar="DIR",
                       help="Where the exported script goes: on Fabric a folder of the lakehouse "
                       "(default Files/fabric-livy-jobs); on Apache Livy a folder the cluster reads.")
    group.add_argument("--script-url", metavar="URL",
                       help="The exported script is already there (fabric-livy export, then your "
                       "own upload): submit that URL.")


def notebook_job(args: argparse.Namespace, endpoint: Any) -> argparse.Namespace:
    """``args`` of ``batch submit NOTEBOOK.ipynb`` turned into those of the exported script:
    ``path`` where the target reads it, ``args`` led by the parameters, ``name`` the notebook's
    stem unless given, ``target_lakehouse`` the endpoint's lakehouse on Fabric unless given.
    Raises ConfigurationError (exit 2) for an unreadable notebook, an unknown ``--param``, or,
    with ``--strict``, a cell no job can run."""
    from fabric_livy_magics.cli.export import export_file, report
    from fabric_livy_magics.livy.endpoints import FabricEndpoint
    from fabric_livy_magics.livy.export import parse_values
    from fabric_livy_magics.livy.export.placement import place_script, script_file_name

    notebook = Path(args.path)
    result = export_file(notebook)
    report(result, "fabric-livy batch")
    if getattr(args, "strict", False):
        result.raise_if_untranslated()
    values = parse_values(getattr(args, "param", []), result.parameters_cell, notebook=notebook.name)
    cell = result.parameters_cell
    arguments = [cell.get(name).argument(value) for name, value in values.items()] if cell else []
    script_url = getattr(args, "script_url", None)
    to_onelake = isinstance(endpoint, FabricEndpoint) and not endpoint.is_loopback and not script_url
    placed = place_script(result.script, script_file_name(notebook.name, result.script), endpoint,
                          upload_dir=getattr(args, "upload_dir", None), script_url=script_url,
                          storage_token=storage_token_source(args.auth) if to_onelake else None)
    print(f"fabric-livy batch: the job script is {placed.where}", file=sys.stderr)
    return argparse.Namespace(**{
        **vars(args), "path": placed.file, "args": [*arguments, *args.args],
        "name": args.name or notebook.stem,
        "target_lakehouse": args.target_lakehouse or placed.target_lakehouse})


def storage_token_source(method: str | None) -> Any:
    """A token source for OneLake: the configured sign-in (or ``method``), asked for the storage
    scope instead of Fabric's. None when the sign-in method is ``none``."""
    from fabric_livy_magics.auth.providers import provider_from_settings
    from fabric_livy_magics.auth.settings import resolve_auth_settings
    from fabric_livy_magics.livy.onelake import ONELAKE_SCOPE

    return provider_from_settings(resolve_auth_settings({"method": method, "scopes": (ONELAKE_SCOPE,)}))
