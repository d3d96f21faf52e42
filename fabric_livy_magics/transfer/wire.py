"""The transfer protocol on the client side: build each remote call, read its framed answer.

A call is the text of ``_remote.py`` plus one ``main(locals(), spec)`` call; ``spec`` travels as a
JSON string inside a Python string literal made by ``repr``, so no value a person supplies
(variable name, SQL text) becomes code. The answer is located by begin/end markers carrying a
random transfer id, so anything else the REPL prints (warnings on stderr, the user's own output)
cannot be mistaken for it.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fabric_livy_magics.errors import MalformedResponse, StatementFailed

from .models import Runner

__all__ = ["Answer", "remote_code", "call", "drop", "parse_answer", "check_chunk"]

_ID = re.compile(r"^[0-9a-f]{32}$")


@lru_cache(maxsize=1)
def _remote_source() -> str:
    return (Path(__file__).with_name("_remote.py")).read_text(encoding="utf-8")


def remote_code(spec: dict[str, Any]) -> str:
    """Python source that performs one transfer operation remotely and prints its framed answer."""
    if not _ID.match(str(spec.get("id", ""))):
        raise ValueError("transfer id must be 32 lowercase hex digits")
    source = repr(_remote_source())
    payload = repr(json.dumps(spec, separators=(",", ":")))
    # The last statement is ``del``, not an expression: REPLs echo a final expression's repr.
    return (
        "def _flm_transfer(ns):\n"
        "    import json as _json\n"
        "    g = {'__name__': 'fabric_livy_transfer'}\n"
        f"    exec(compile({source}, '<fabric-livy-transfer>', 'exec'), g)\n"
        f"    g['main'](ns, _json.loads({payload}))\n"
        "try:\n"
        "    _flm_transfer(locals())\n"
        "finally:\n"
        "    del _flm_transfer\n"
    )


@dataclass(frozen=True)
class Answer:
    """One framed answer: its header fields and the payload text that followed them."""

    header: dict[str, Any]
    body: str
    raw_chars: int


def parse_answer(output: str, tid: str) -> Answer:
    """Find this transfer's frame in a statement output; raise MalformedResponse if it is damaged."""
    begin, end = f"<<<flm:{tid}:begin>>>\n", f"\n<<<flm:{tid}:end>>>"
    start = output.find(begin)
    stop = output.find(end, start + len(begin)) if start >= 0 else -1
    if start < 0 or stop < 0:
        shown = output[:200].replace("\n", " ")
        raise MalformedResponse(
            "The remote transfer answer was cut off or garbled (no complete frame in "
            f"{len(output)} characters of output: {shown!r}). Run the cell again; if it repeats, "
            "lower the chunk size."
        )
    inner = output[start + len(begin):stop]
    line, _, body = inner.partition("\n")
    try:
        header = json.loads(line)
    except ValueError as exc:
        raise MalformedResponse(f"The remote transfer header is not valid JSON: {line[:200]!r}") from exc
    if not isinstance(header, dict) or "ok" not in header:
        raise MalformedResponse(f"The remote transfer header has an unexpected shape: {line[:200]!r}")
    if not header["ok"]:
        raise StatementFailed(str(header.get("ename", "Error")), str(header.get("evalue", "")))
    return Answer(header=header, body=body, raw_chars=len(output))


def call(run: Runner, spec: dict[str, Any]) -> Answer:
    """Run one transfer operation remotely and return its checked answer."""
    return parse_answer(run(remote_code(spec)), spec["id"])


def drop(run: Runner, tid: str, error: Exception) -> None:
    """Free a transfer's remote buffer after ``error``; a failed cleanup is noted on ``error``."""
    try:
        call(run, {"op": "drop", "id": tid})
    except Exception as cleanup:  # the original error is what the person needs to see
        error.add_note(f"Also failed to free the remote transfer buffer: {cleanup}")


def check_chunk(answer: Answer, offset: int) -> str:
    """The chunk in ``answer`` after checking its offset, length and CRC-32."""
    header, body = answer.header, answer.body
    try:
        expected_offset, size, crc = int(header["offset"]), int(header["size"]), int(header["crc32"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedResponse(f"The remote transfer chunk header is incomplete or malformed ({exc}). "
                                "Run the cell again.") from exc
    if expected_offset != offset:
        raise MalformedResponse(f"Got the transfer chunk at offset {expected_offset}, expected {offset}.")
    if len(body) != size:
        raise MalformedResponse(
            f"A transfer chunk arrived incomplete ({len(body)} of {size} characters). Run the cell "
            "again; if it repeats, lower the chunk size."
        )
    if zlib.crc32(body.encode("ascii", "replace")) & 0xFFFFFFFF != crc:
        raise MalformedResponse("A transfer chunk failed its checksum: the output was altered on the way.")
    return body
