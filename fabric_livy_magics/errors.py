"""The one exception tree of fabric-livy-magics.

Every failure a person can meet is one of these, with a message that says what happened and
what to do next. Lower libraries' errors (requests, urllib3, msal) are translated into this tree
at one boundary each, with ``raise ... from exc``::

    LivyError
    ├── ConfigurationError        bad endpoint, option or setting on our side
    ├── AuthError                 sign-in failed, consent missing, token refused
    ├── LivyHTTPError             the server answered with an error status
    │   ├── Throttled             429 (API rate) or 430 (Spark capacity) after retries
    │   ├── SessionNotFound       404 for a session that is gone or never existed
    │   ├── StatementNotFound     404 for a statement id
    │   └── BatchNotFound         404 for a batch id
    ├── LivyConnectionError       the server could not be reached
    ├── MalformedResponse         the server answered something we cannot read
    ├── SessionFailed             the session is dead, killed or errored
    │   └── SessionDead
    ├── StatementFailed           the remote code raised (ename, evalue, traceback)
    ├── StatementCancelled        the statement was cancelled (Ctrl-C or another client)
    ├── BatchFailed               a batch job ended dead, killed or in error
    └── LivyTimeout               waiting for a session or statement took too long

In IPython, ``_render_traceback_`` makes a ``LivyError`` show as its one-line message rather than
a stack trace of our internals; ``StatementFailed`` shows the remote traceback instead.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "LivyError",
    "ConfigurationError",
    "AuthError",
    "LivyHTTPError",
    "Throttled",
    "SessionNotFound",
    "StatementNotFound",
    "BatchNotFound",
    "BatchFailed",
    "LivyConnectionError",
    "MalformedResponse",
    "SessionFailed",
    "SessionDead",
    "StatementFailed",
    "StatementCancelled",
    "LivyTimeout",
]


class LivyError(Exception):
    """Base of every error this package raises on purpose."""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing a traceback: one actionable line.
        return [f"{type(self).__name__}: {self}"]


class ConfigurationError(LivyError):
    """Something on the client side is set up wrongly (endpoint, option, environment)."""


class AuthError(LivyError):
    """Signing in or obtaining a token failed, or the server refused the token."""


class LivyHTTPError(LivyError):
    """The server answered with an error status.

    ``request_id`` is Fabric's ``requestId`` (body or header) when present: support needs it.
    ``error_code`` is Fabric's stable ``errorCode``; branch on it, never on the message text.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        url: str | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.url = url
        self.error_code = error_code
        self.request_id = request_id

    def __str__(self) -> str:
        text = super().__str__()
        if self.request_id and self.request_id not in text:
            text = f"{text} (requestId {self.request_id})"
        return text


class Throttled(LivyHTTPError):
    """429 (API rate limit) or 430 (Spark capacity busy) persisted after retries."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class SessionNotFound(LivyHTTPError):
    """The session id is unknown to the server: it ended, or the id is wrong."""


class StatementNotFound(LivyHTTPError):
    """The statement id is unknown to the session."""


class BatchNotFound(LivyHTTPError):
    """The batch id is unknown to the server: wrong id, or the server forgot it."""


class LivyConnectionError(LivyError):
    """The server could not be reached (refused, reset, DNS, TLS) after retries.

    ``nothing_sent`` is True when the request certainly never left (connection refused, connect
    timeout): only then may a request that runs code or starts a cluster be sent again."""

    def __init__(self, message: str, *, nothing_sent: bool = False) -> None:
        super().__init__(message)
        self.nothing_sent = nothing_sent


class MalformedResponse(LivyError):
    """The server answered something that is not the Livy/Fabric shape we expect."""


class SessionFailed(LivyError):
    """The session ended in error, or could not start."""

    def __init__(self, message: str, *, session_id: str | int | None = None, state: str | None = None,
                 log: list[str] | None = None) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.state = state
        self.log = list(log or [])


class SessionDead(SessionFailed):
    """The session is dead, killed or shut down; a new one is needed."""


class StatementFailed(LivyError):
    """The remote code raised. Shown in IPython as the remote traceback."""

    def __init__(self, ename: str, evalue: str, traceback: list[str] | None = None) -> None:
        super().__init__(f"{ename}: {evalue}")
        self.ename = ename
        self.evalue = evalue
        self.traceback = list(traceback or [])

    def _render_traceback_(self) -> list[str]:
        lines = [part for line in self.traceback for part in line.rstrip("\n").split("\n")]
        # Servers end the traceback with the exception line (often a qualified name and a
        # multi-line message); add ours only when it is not there already.
        first_line = (self.evalue.splitlines() or [""])[0].strip()
        if not any(self.ename in line and first_line in line for line in lines):
            lines.append(f"{self.ename}: {self.evalue}")
        return lines


class StatementCancelled(LivyError):
    """The statement was cancelled before it finished."""


class BatchFailed(LivyError):
    """A batch ended without success (dead, killed, error). Carries the state and the log tail."""

    def __init__(self, message: str, *, batch_id: int | str, state: str,
                 log: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.batch_id = batch_id
        self.state = state
        self.log = list(log)


class LivyTimeout(LivyError):
    """Waiting for a session or a statement took longer than allowed."""
