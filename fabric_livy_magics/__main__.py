"""``python -m fabric_livy_magics`` is the ``fabric-livy`` command."""

from fabric_livy_magics.cli import main

raise SystemExit(main())
