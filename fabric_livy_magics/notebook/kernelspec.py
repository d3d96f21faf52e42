"""Register and remove the wrapper kernel with Jupyter (``fabric-livy install-kernel``).

The spec names this interpreter by absolute path: a bare ``python`` in ``kernel.json`` makes
VS Code and JupyterLab start whatever Python is first on PATH, which may lack this package.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_KERNEL_NAME", "DISPLAY_NAME", "kernel_spec", "install_kernel", "uninstall_kernel",
           "register"]

DEFAULT_KERNEL_NAME = "fabric-livy"
DISPLAY_NAME = "PySpark on Fabric (Livy)"
RESOURCES = Path(__file__).with_name("resources")
LOGOS = ("logo-32x32.png", "logo-64x64.png")


def kernel_spec(python: str | None = None, display_name: str = DISPLAY_NAME) -> dict[str, Any]:
    """The kernel.json content for this interpreter."""
    return {
        "argv": [python or sys.executable, "-m", "fabric_livy_magics.kernel", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"debugger": False},
    }


def install_kernel(name: str = DEFAULT_KERNEL_NAME, *, user: bool = False, prefix: str | None = None,
                   display_name: str = DISPLAY_NAME) -> str:
    """Install the spec; returns the directory Jupyter will read it from."""
    from jupyter_client.kernelspec import KernelSpecManager

    if prefix is None and not user:
        prefix = sys.prefix  # the active environment, so its Jupyter finds it
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "kernel.json").write_text(json.dumps(kernel_spec(display_name=display_name), indent=2))
        for logo in LOGOS:  # the launcher's icon for the kernel
            shutil.copyfile(RESOURCES / logo, Path(folder, logo))
        return KernelSpecManager().install_kernel_spec(folder, kernel_name=name, user=user, prefix=prefix)


def uninstall_kernel(name: str = DEFAULT_KERNEL_NAME) -> bool:
    """Remove the spec; False when no kernel of that name was installed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().remove_kernel_spec(name)
    except (NoSuchKernel, KeyError):  # jupyter_client raises KeyError for an unknown name
        return False
    return True


def _install_command(args: argparse.Namespace) -> int:
    where = install_kernel(args.name, user=args.user, prefix=args.prefix, display_name=args.display_name)
    print(f"Installed kernel '{args.name}' ({args.display_name}) in {where}")
    return 0


def _uninstall_command(args: argparse.Namespace) -> int:
    if uninstall_kernel(args.name):
        print(f"Removed kernel '{args.name}'.")
        return 0
    print(f"No kernel named '{args.name}' is installed. `jupyter kernelspec list` shows what is.",
          file=sys.stderr)
    return 1


def register(subcommands: Any) -> None:
    install = subcommands.add_parser("install-kernel", help="Register the Jupyter kernel.")
    install.add_argument("--user", action="store_true", help="Install for the current user only.")
    install.add_argument("--prefix", help="Install under this environment prefix.")
    install.add_argument("--name", default=DEFAULT_KERNEL_NAME, help="Kernel name (default %(default)s).")
    install.add_argument("--display-name", default=DISPLAY_NAME, help="Name shown in kernel pickers.")
    install.set_defaults(handler=_install_command)

    uninstall = subcommands.add_parser("uninstall-kernel", help="Remove the Jupyter kernel.")
    uninstall.add_argument("--name", default=DEFAULT_KERNEL_NAME, help="Kernel name (default %(default)s).")
    uninstall.set_defaults(handler=_uninstall_command)
