"""``python -m fabric_livy_magics.kernel``: the name installed kernelspecs run.

The kernel lives in ``notebook/kernel.py``; this module keeps the name that ``kernel.json`` files
already written on people's machines point at.
"""

from __future__ import annotations

from fabric_livy_magics.notebook.kernel import *  # noqa: F403 - re-export under the stable name
from fabric_livy_magics.notebook.kernel import __all__, main

if __name__ == "__main__":
    main()
