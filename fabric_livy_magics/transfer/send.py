"""Send a local pandas DataFrame to the remote session as a Spark DataFrame."""

from __future__ import annotations

import hashlib
import uuid
import zlib
from typing import TYPE_CHECKING

from fabric_livy_magics.errors import ConfigurationError

from . import wire
from .encode import encode_arrow_payload, pandas_to_arrow
from .fetch import MIN_CHUNK_BYTES
from .models import DEFAULT_CHUNK_BYTES, Runner, SendResult, validate_send_name

if TYPE_CHECKING:
    import pandas
    import pyarrow

__all__ = ["send_dataframe"]


def send_dataframe(
    run: Runner,
    frame: pandas.DataFrame,
    remote_name: str,
    *,
    table: pyarrow.Table | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    compression: bool = True,
) -> SendResult:
    """Make ``frame`` the remote Spark DataFrame ``remote_name``, typed as ``fetch_dataframe`` reads.

    The frame goes as an Arrow IPC stream (zstd/lz4 when the remote side has it), base64 text in
    statements of at most ``chunk_bytes`` characters, each CRC-checked remotely and the whole
    SHA-256-checked before ``spark.createDataFrame``. The pandas index is not sent. A caller that
    already checked the frame by converting it (``encode.pandas_to_arrow``) passes that ``table``.
    """
    validate_send_name(remote_name)
    if chunk_bytes < MIN_CHUNK_BYTES:
        raise ConfigurationError(f"chunk_bytes must be at least {MIN_CHUNK_BYTES}; got {chunk_bytes}.")
    if table is None:
        table = pandas_to_arrow(frame)  # before any remote call: bad columns fail here
    names = [str(c) for c in frame.columns]

    tid = uuid.uuid4().hex
    begin = wire.call(run, {"op": "send_begin", "id": tid, "name": remote_name})
    sent = begin.raw_chars
    remote_codecs = begin.header.get("codecs") or []
    import pyarrow as pa

    try:
        codec = next((c for c in remote_codecs if compression and pa.Codec.is_available(c)), None)
        payload = encode_arrow_payload(table, codec)
        for index, offset in enumerate(range(0, len(payload), chunk_bytes)):
            part = payload[offset:offset + chunk_bytes]
            sent += len(part)
            wire.call(run, {"op": "send_part", "id": tid, "index": index, "data": part,
                            "crc32": zlib.crc32(part.encode("ascii")) & 0xFFFFFFFF})
        end = wire.call(run, {
            "op": "send_end", "id": tid, "name": remote_name, "columns": names,
            "length": len(payload), "sha256": hashlib.sha256(payload.encode("ascii")).hexdigest(),
        })
    except Exception as exc:
        wire.drop(run, tid, exc)
        raise
    return SendResult(remote_name=remote_name, rows=int(end.header["rows"]),
                      schema=str(end.header["schema"]), bytes_transferred=sent)
