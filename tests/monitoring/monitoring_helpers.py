"""Names shared by the monitoring tests (imported by name: tests are not a package)."""

from __future__ import annotations

WS = "5a6b7c8d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
LH = "0d9c8b7a-6f5e-4d4c-9b3a-2f1e0d9c8b7a"
SESSION_NAME = "monitoring-tests"
