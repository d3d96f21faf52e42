"""Run Spark code on Microsoft Fabric, or any Apache Livy server, from a local Jupyter notebook.

``%load_ext fabric_livy_magics`` registers the ``%livy`` / ``%%livy`` magics. Imports here stay
light so loading the extension is fast; heavy libraries load where they are used.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Called by ``%load_ext fabric_livy_magics``."""
    from fabric_livy_magics.notebook.magics import register

    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Called by ``%unload_ext fabric_livy_magics``: stops the notebook's session."""
    from fabric_livy_magics.notebook.magics import unregister

    unregister(ipython)
