"""The contract between the HTTP client and every sign-in method.

The client knows nothing of MSAL or Azure: it asks a ``TokenProvider`` for a current token before
each request, and once more with ``force_refresh=True`` after a 401.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["AccessToken", "TokenProvider"]


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and when it stops working. The token text never shows in a repr."""

    token: str = field(repr=False)
    expires_on: float  # seconds since the epoch
    account: str | None = None  # who signed in (user principal name or client id), for display

    def expires_within(self, seconds: float) -> bool:
        return self.expires_on - time.time() <= seconds


@runtime_checkable
class TokenProvider(Protocol):
    """Anything that can hand out a current bearer token."""

    def get_token(self, *, force_refresh: bool = False) -> AccessToken:
        """A token valid for at least a few minutes; a new one when ``force_refresh``."""
        ...
