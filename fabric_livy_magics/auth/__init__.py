"""Sign-in: token providers the HTTP client asks for a current bearer token."""

from fabric_livy_magics.auth.base import AccessToken, TokenProvider

__all__ = ["AccessToken", "TokenProvider"]
