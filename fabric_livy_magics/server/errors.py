"""The one error type of the server: an HTTP status, a message and Fabric's ``errorCode``."""

from __future__ import annotations

__all__ = ["ApiError", "error_payload"]


class ApiError(Exception):
    """Rendered as ``{"msg": ...}`` in the Livy shape and ``{errorCode, message, requestId}`` in Fabric's."""

    def __init__(self, status: int, message: str, error_code: str = "BadRequest") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code


def error_payload(fabric: bool, message: str, code: str, request_id: str) -> dict[str, str]:
    """Fabric's ``{errorCode, message, requestId}`` or Livy's ``{msg}``."""
    return {"errorCode": code, "message": message, "requestId": request_id} if fabric else {"msg": message}
