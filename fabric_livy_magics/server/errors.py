"""The one error type of the server: an HTTP status, a message and Fabric's ``errorCode``."""

from __future__ import annotations

__all__ = ["ApiError"]


class ApiError(Exception):
    """Rendered as ``{"msg": ...}`` in the Livy shape and ``{errorCode, message, requestId}`` in Fabric's."""

    def __init__(self, status: int, message: str, error_code: str = "BadRequest") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
