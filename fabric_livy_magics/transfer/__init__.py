"""Move tables between the remote Spark session and local pandas, fast and typed.

Everything goes through one callable, ``run(code) -> text/plain output``, that executes Python in
the remote PySpark REPL; this package knows nothing of HTTP or IPython::

    result = fetch_dataframe(run, RemoteName("df"), maxrows=2500)
    result.frame, result.truncated
    fetch_dataframe(run, SqlQuery("select * from sales"), maxrows=2500).frame
    send_dataframe(run, local_frame, "sales")

Results travel as a base64 Arrow IPC stream (zstd-compressed when both sides can), in
statements of a few MB each, checked by CRC-32 per chunk and SHA-256 overall; a JSON encoding
with the Spark schema is the fallback when the remote side cannot produce Arrow. Local dtypes
are listed in ``decode``.
"""

from __future__ import annotations

from .fetch import fetch_dataframe
from .models import (
    DEFAULT_CHUNK_BYTES,
    Encoding,
    FetchResult,
    RemoteName,
    Runner,
    SendResult,
    Source,
    SqlQuery,
)
from .send import send_dataframe

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "Encoding",
    "FetchResult",
    "RemoteName",
    "Runner",
    "SendResult",
    "Source",
    "SqlQuery",
    "fetch_dataframe",
    "send_dataframe",
]
