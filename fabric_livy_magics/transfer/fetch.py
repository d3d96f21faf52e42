"""Bring a remote DataFrame (a variable or a SQL result) into local pandas, chunk by chunk."""

from __future__ import annotations

import hashlib
import uuid

from fabric_livy_magics.errors import ConfigurationError, MalformedResponse, StatementFailed

from . import wire
from .decode import arrow_to_pandas, decode_arrow_payload, decode_json_payload
from .models import DEFAULT_CHUNK_BYTES, Encoding, FetchResult, RemoteName, Runner, Source, SqlQuery

__all__ = ["fetch_dataframe", "MIN_CHUNK_BYTES"]

MIN_CHUNK_BYTES = 1024


def _local_codecs() -> list[str]:
    import pyarrow as pa

    return [c for c in ("zstd", "lz4") if pa.Codec.is_available(c)]


def fetch_dataframe(
    run: Runner,
    source: Source,
    *,
    maxrows: int | None,
    sample: float | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    encoding: Encoding = "auto",
    compression: bool = True,
) -> FetchResult:
    """Fetch ``source`` through ``run`` as a typed pandas DataFrame.

    ``maxrows`` caps the rows brought back (None or -1: all); one extra row is read remotely to
    tell whether the result was truncated. ``sample`` (0 < fraction <= 1) samples before the cap.
    ``encoding="auto"`` uses Arrow IPC (compressed when both sides can) and falls back to JSON when
    the remote side cannot produce Arrow; ``"arrow"``/``"json"`` force one. The payload is held in a
    remote variable and fetched ``chunk_bytes`` characters per statement; every chunk is length- and
    CRC-checked and the whole payload SHA-256-checked, so damage raises MalformedResponse.
    """
    if not isinstance(source, (RemoteName, SqlQuery)):
        raise ConfigurationError("source must be RemoteName('df') or SqlQuery('select ...').")
    if maxrows == -1:
        maxrows = None
    if maxrows is not None and (not isinstance(maxrows, int) or maxrows < 0):
        raise ConfigurationError(f"maxrows must be a whole number >= 0, or -1 for all rows; got {maxrows!r}.")
    if sample is not None and not 0 < sample <= 1:
        raise ConfigurationError(f"sample must be a fraction in (0, 1]; got {sample!r}.")
    if encoding not in ("auto", "arrow", "json"):
        raise ConfigurationError(f"encoding must be auto, arrow or json; got {encoding!r}.")
    if chunk_bytes < MIN_CHUNK_BYTES:
        raise ConfigurationError(f"chunk_bytes must be at least {MIN_CHUNK_BYTES}; got {chunk_bytes}.")

    tid = uuid.uuid4().hex
    spec = {
        "op": "fetch", "id": tid, "source": source.to_spec(), "maxrows": maxrows,
        "sample": sample, "encoding": encoding, "chunk": chunk_bytes,
        "codecs": _local_codecs() if compression else [],
    }
    try:
        first = wire.call(run, spec)
    except StatementFailed:
        raise  # reported by the remote side before it kept anything
    except Exception as exc:
        wire.drop(run, tid, exc)
        raise
    received = first.raw_chars
    header = first.header
    done = bool(header.get("done"))
    try:
        length, digest = int(header["length"]), str(header["sha256"])
        names = [str(n) for n in header["columns"]]
        encoding_used, rows = str(header["encoding"]), int(header["rows"])
        truncated = bool(header["truncated"])
        parts = [wire.check_chunk(first, 0)]
        offset = len(parts[0])
        while offset < length:
            answer = wire.call(run, {"op": "chunk", "id": tid, "offset": offset, "size": chunk_bytes})
            received += answer.raw_chars
            parts.append(wire.check_chunk(answer, offset))
            offset += len(parts[-1])
            done = bool(answer.header.get("done"))
            if offset < length and (done or not parts[-1]):
                raise MalformedResponse(
                    f"The remote transfer ended early ({offset} of {length} characters). Run the cell again."
                )
        payload = "".join(parts)
        if len(payload) != length or hashlib.sha256(payload.encode("ascii", "replace")).hexdigest() != digest:
            raise MalformedResponse(
                f"The transferred result is incomplete or corrupted ({len(payload)} of {length} "
                "characters, checksum mismatch). Run the cell again."
            )
    except (KeyError, TypeError, ValueError) as exc:
        if not done:
            wire.drop(run, tid, exc)
        raise MalformedResponse(f"The remote transfer header is incomplete or malformed ({exc}). "
                                "Run the cell again.") from exc
    except Exception as exc:
        if not done:
            wire.drop(run, tid, exc)
        raise

    if encoding_used == "arrow":
        table = decode_arrow_payload(payload)
        label = "arrow" + (f"+{header['codec']}" if header.get("codec") else "")
    else:
        table = decode_json_payload(payload)
        label = "json"
    frame = arrow_to_pandas(table, names)
    if len(frame) != rows:
        raise MalformedResponse(f"The transferred result has {len(frame)} rows; the remote side sent {rows}.")
    note = f"Arrow was not available remotely ({header['arrow_error']})" if header.get("arrow_error") else None
    return FetchResult(frame=frame, truncated=truncated, total_rows=None if truncated else rows,
                       bytes_transferred=received, encoding=label, note=note)
