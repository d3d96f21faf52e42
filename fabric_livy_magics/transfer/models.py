"""What a transfer is asked to move and what it brings back: small frozen values, validated early.

Names are checked here, before any remote call, so a bad ``-o`` or ``send`` target is a clear
local error and nothing a person types is ever pasted into generated code (the remote side
receives names and queries as JSON string values and re-checks names too).
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from fabric_livy_magics.errors import ConfigurationError

if TYPE_CHECKING:
    import pandas

__all__ = [
    "Runner",
    "RemoteName",
    "SqlQuery",
    "Source",
    "FetchResult",
    "SendResult",
    "Encoding",
    "RESERVED_REMOTE_NAMES",
    "DEFAULT_CHUNK_BYTES",
    "validate_name",
    "validate_send_name",
]

Runner = Callable[[str], str]
"""Runs Python code in the remote PySpark REPL and returns its ``text/plain`` output.

Raises ``StatementFailed`` (or another ``LivyError``) when the statement fails remotely."""

Encoding = Literal["auto", "arrow", "json"]

DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024
"""Statement outputs stay a few MB each, whatever the size of the whole result."""

RESERVED_REMOTE_NAMES = frozenset({"spark", "sc", "sqlContext", "sqlCtx", "_flm_transfers"})
"""Names ``send`` refuses to overwrite: the REPL's own handles and the transfer state."""


def validate_name(name: object, *, what: str = "remote variable name") -> str:
    """Return ``name`` if it is a plain Python identifier, else raise ConfigurationError."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ConfigurationError(
            f"{name!r} is not a valid {what}: use a Python identifier such as df or sales_2024."
        )
    return name


def validate_send_name(name: object) -> str:
    """``validate_name``, and not one of the names ``send`` must never overwrite remotely."""
    validate_name(name)
    if name in RESERVED_REMOTE_NAMES:
        raise ConfigurationError(f"{name!r} is reserved in the remote session: pick another name.")
    return str(name)


@dataclass(frozen=True)
class RemoteName:
    """A DataFrame held in a remote variable, e.g. ``RemoteName("df")``."""

    name: str

    def __post_init__(self) -> None:
        validate_name(self.name)

    def to_spec(self) -> dict[str, str]:
        return {"kind": "name", "name": self.name}


@dataclass(frozen=True)
class SqlQuery:
    """The result of a Spark SQL query, e.g. ``SqlQuery("select * from sales")``."""

    query: str

    def __post_init__(self) -> None:
        if not isinstance(self.query, str) or not self.query.strip():
            raise ConfigurationError("The SQL query is empty: write a query in the cell.")

    def to_spec(self) -> dict[str, str]:
        return {"kind": "sql", "query": self.query}


Source = RemoteName | SqlQuery


@dataclass(frozen=True)
class FetchResult:
    """A remote result as a local pandas DataFrame.

    ``truncated`` is True when the remote result had more than ``maxrows`` rows; ``total_rows``
    is then None (counting would run the query again), else the row count. ``bytes_transferred``
    counts the statement output characters received; ``encoding`` is ``"arrow"``,
    ``"arrow+zstd"``/``"arrow+lz4"`` or ``"json"``. ``note`` says why JSON was used, if it was.
    """

    frame: pandas.DataFrame
    truncated: bool
    total_rows: int | None
    bytes_transferred: int
    encoding: str
    note: str | None = None


@dataclass(frozen=True)
class SendResult:
    """What ``send_dataframe`` created remotely: its name, row count and Spark schema."""

    remote_name: str
    rows: int
    schema: str
    bytes_transferred: int
