"""Code that runs inside the remote PySpark REPL, sent as source text with every transfer call.

This file is never imported by the client: ``wire.remote_code`` reads it as text and ships it,
and the remote side executes it in a private namespace and calls ``main(ns, spec)``. So it may
import only the standard library, pyspark and (optionally) pyarrow, and it must run on the
Python versions Spark clusters use (3.8+). ``ns`` is the REPL's namespace (user variables and
``spark``); ``spec`` is a JSON-decoded dict built by the client.

Every call prints exactly one framed record to stdout::

    <<<flm:{id}:begin>>>
    {header JSON, one line}
    {payload text, possibly empty: base64 Arrow IPC or ASCII JSON}
    <<<flm:{id}:end>>>

Failures are reported in the header (``"ok": false``) rather than raised, so the client can
tell "unknown variable" from "not a DataFrame" from "the query failed" and say what to do.
"""

import base64
import binascii
import datetime
import hashlib
import json
import keyword
import sys
import zlib

STATE_KEY = "_flm_transfers"
_EPOCH_UTC = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_EPOCH_NAIVE = datetime.datetime(1970, 1, 1)
_EPOCH_DATE = datetime.date(1970, 1, 1)
_ONE_US = datetime.timedelta(microseconds=1)
_RESERVED = {"spark", "sc", "sqlContext", "sqlCtx", STATE_KEY}


class Failure(Exception):
    """A reportable failure: kind (machine), ename and evalue (for the person)."""

    def __init__(self, kind, ename, evalue):
        Exception.__init__(self, evalue)
        self.kind = kind
        self.ename = ename
        self.evalue = evalue


def main(ns, spec):
    tid = spec["id"]
    payload = ""
    try:
        header, payload = _dispatch(ns, spec)
        header["ok"] = True
    except Failure as exc:
        header = {"ok": False, "kind": exc.kind, "ename": exc.ename, "evalue": exc.evalue}
    except Exception as exc:  # reported, not swallowed: the client raises StatementFailed
        header = {"ok": False, "kind": "error", "ename": type(exc).__name__,
                  "evalue": _first_lines(str(exc))}
    sys.stdout.write("<<<flm:%s:begin>>>\n%s\n%s\n<<<flm:%s:end>>>\n"
                     % (tid, json.dumps(header, separators=(",", ":")), payload, tid))
    sys.stdout.flush()


def _dispatch(ns, spec):
    op = spec["op"]
    if op == "fetch":
        return _fetch(ns, spec)
    if op == "chunk":
        return _chunk(ns, spec["id"], spec["offset"], spec["size"])
    if op == "drop":
        _state(ns).pop(spec["id"], None)
        _tidy(ns)
        return {}, ""
    if op == "send_begin":
        return _send_begin(ns, spec)
    if op == "send_part":
        return _send_part(ns, spec)
    if op == "send_end":
        return _send_end(ns, spec)
    raise Failure("protocol", "ValueError", "unknown transfer operation %r" % (op,))


def _first_lines(text, limit=2000):
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + " ..."


def _state(ns):
    state = ns.get(STATE_KEY)
    if not isinstance(state, dict):
        state = {}
        ns[STATE_KEY] = state
    return state


def _tidy(ns):
    if not ns.get(STATE_KEY):
        ns.pop(STATE_KEY, None)


def _spark(ns):
    """The REPL's ``spark``, else the active session (a REPL that names it differently)."""
    spark = ns.get("spark")
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
    return spark


def _check_name(name):
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise Failure("bad_name", "ValueError", "%r is not a valid Python variable name" % (name,))
    return name


# --------------------------------------------------------------------------- fetch


def _resolve(ns, source):
    from pyspark.sql import DataFrame

    if source["kind"] == "name":
        name = _check_name(source["name"])
        if name not in ns:
            raise Failure("unknown_name", "NameError",
                          "no remote variable named %r; define it in a %%%%livy cell first" % name)
        obj = ns[name]
        if not isinstance(obj, DataFrame):
            raise Failure("not_dataframe", "TypeError",
                          "remote variable %r is a %s, not a Spark DataFrame"
                          % (name, type(obj).__name__))
        return obj
    try:
        return _spark(ns).sql(source["query"])
    except Exception as exc:
        raise Failure("sql_error", type(exc).__name__, _first_lines(str(exc)))


def _fetch(ns, spec):
    df = _resolve(ns, spec["source"])
    names = list(df.columns)
    # Positional names: Arrow and JSON both cope with any name this way, duplicates included.
    df = df.toDF(*["_%d" % i for i in range(len(names))])
    if spec.get("sample") is not None:
        df = df.sample(fraction=float(spec["sample"]), seed=spec.get("seed"))
    maxrows = spec.get("maxrows")
    if maxrows is not None:
        df = df.limit(maxrows + 1)  # one extra row tells us the result was truncated
    header = {"columns": names}
    encoding = spec.get("encoding", "auto")
    payload = None
    if encoding in ("auto", "arrow"):
        try:
            payload, rows, codec = _arrow_payload(df, maxrows, spec.get("codecs") or [])
            header.update(encoding="arrow", codec=codec)
        except Exception as exc:
            if encoding == "arrow":
                raise Failure("arrow_failed", type(exc).__name__, _first_lines(str(exc)))
            header["arrow_error"] = "%s: %s" % (type(exc).__name__, _first_lines(str(exc), 300))
    if payload is None:
        payload, rows = _json_payload(df, maxrows)
        header.update(encoding="json", codec=None)
    truncated = maxrows is not None and rows > maxrows
    header.update(rows=min(rows, maxrows) if truncated else rows, truncated=truncated,
                  length=len(payload), sha256=hashlib.sha256(payload.encode("ascii")).hexdigest())
    _state(ns)[spec["id"]] = payload
    chunk_header, chunk = _chunk(ns, spec["id"], 0, spec["chunk"])
    header.update(chunk_header)
    return header, chunk


def _chunk(ns, tid, offset, size):
    state = _state(ns)
    if tid not in state:
        _tidy(ns)
        raise Failure("lost", "LookupError",
                      "transfer %s is no longer held remotely (was the session restarted?)" % tid)
    payload = state[tid]
    chunk = payload[offset:offset + size]
    done = offset + len(chunk) >= len(payload)
    if done:
        del state[tid]
        _tidy(ns)
    return {"offset": offset, "size": len(chunk), "done": done,
            "crc32": zlib.crc32(chunk.encode("ascii")) & 0xFFFFFFFF}, chunk


def _arrow_batches(df):
    """The DataFrame as Arrow record batches (and their schema), however this PySpark gives them."""
    import pyarrow as pa

    if hasattr(df, "toArrow"):  # PySpark >= 4.0
        try:
            table = df.toArrow()
            return table.to_batches(), table.schema
        except pa.ArrowInvalid:
            pass  # e.g. a null struct whose fields Spark marks non-nullable: the raw batches are fine
    collect = getattr(df, "_collect_as_arrow", None)  # PySpark 3.x with Arrow enabled, and 4.x
    if collect is not None:
        batches = collect()
        if batches:
            return batches, batches[0].schema
        from pyspark.sql.pandas.types import to_arrow_schema

        return [], to_arrow_schema(df.schema)
    table = pa.Table.from_pandas(df.toPandas(), preserve_index=False)
    return table.to_batches(), table.schema


def _arrow_payload(df, maxrows, codecs):
    import pyarrow as pa

    batches, schema = _arrow_batches(df)
    rows = sum(b.num_rows for b in batches)
    codec = None
    for name in codecs:
        if pa.Codec.is_available(name):
            codec = name
            break
    options = pa.ipc.IpcWriteOptions(compression=codec)
    sink = pa.BufferOutputStream()
    left = rows if maxrows is None else maxrows
    with pa.ipc.new_stream(sink, schema, options=options) as writer:
        for batch in batches:
            if left <= 0:
                break
            batch = batch.slice(0, left) if batch.num_rows > left else batch
            left -= batch.num_rows
            for offset in range(0, batch.num_rows, 1 << 16):
                writer.write_batch(batch.slice(offset, 1 << 16))
    return base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii"), rows, codec


# JSON fallback: rows as lists, values encoded exactly by their Spark type (see decode.py).


def _encoder(dtype):
    from pyspark.sql import types as T

    if isinstance(dtype, T.TimestampType):
        # collect() gives naive local time; astimezone() reads it the same way PySpark made it.
        return lambda v: (v.astimezone(datetime.timezone.utc) - _EPOCH_UTC) // _ONE_US
    if hasattr(T, "TimestampNTZType") and isinstance(dtype, T.TimestampNTZType):
        return lambda v: (v - _EPOCH_NAIVE) // _ONE_US
    if isinstance(dtype, T.DateType):
        return lambda v: (v - _EPOCH_DATE).days
    if isinstance(dtype, T.DecimalType):
        return str
    if isinstance(dtype, T.BinaryType):
        return lambda v: base64.b64encode(bytes(v)).decode("ascii")
    if hasattr(T, "DayTimeIntervalType") and isinstance(dtype, T.DayTimeIntervalType):
        return lambda v: v // _ONE_US
    if isinstance(dtype, T.ArrayType):
        inner = _encoder(dtype.elementType)
        return lambda v: [None if x is None else inner(x) for x in v]
    if isinstance(dtype, T.MapType):
        key, value = _encoder(dtype.keyType), _encoder(dtype.valueType)
        return lambda v: [[key(k), None if x is None else value(x)] for k, x in v.items()]
    if isinstance(dtype, T.StructType):
        fields = [_encoder(f.dataType) for f in dtype.fields]
        return lambda v: [None if x is None else f(x) for f, x in zip(fields, v)]
    if isinstance(dtype, (T.BooleanType, T.ByteType, T.ShortType, T.IntegerType, T.LongType,
                          T.FloatType, T.DoubleType, T.StringType, T.NullType)):
        return lambda v: v
    return str  # types without an exact JSON form arrive as their text


def _json_payload(df, maxrows):
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = df.schema
    # Timestamps leave Spark as microseconds: Python's local-time datetimes cannot hold them all.
    columns, encoders = [], []
    for field in schema.fields:
        if isinstance(field.dataType, T.TimestampType) and hasattr(F, "unix_micros"):
            columns.append(F.unix_micros(F.col(field.name)).alias(field.name))
            encoders.append(lambda v: v)
        else:
            columns.append(F.col(field.name))
            encoders.append(_encoder(field.dataType))
    rows = df.select(*columns).collect()
    count = len(rows)
    if maxrows is not None:
        rows = rows[:maxrows]
    data = [[None if v is None else enc(v) for enc, v in zip(encoders, row)] for row in rows]
    body = {"schema": schema.jsonValue(), "rows": data}
    return json.dumps(body, separators=(",", ":"), allow_nan=True), count


# --------------------------------------------------------------------------- send


def _send_begin(ns, spec):
    if _check_name(spec["name"]) in _RESERVED:
        raise Failure("bad_name", "ValueError", "%r is reserved in the remote session" % spec["name"])
    try:
        import pyarrow as pa
    except ImportError:
        raise Failure("no_pyarrow", "ImportError",
                      "the remote Python has no pyarrow; install it in the Spark environment")
    _state(ns)[spec["id"]] = []
    codecs = [c for c in ("zstd", "lz4") if pa.Codec.is_available(c)]
    return {"pyarrow": pa.__version__, "codecs": codecs}, ""


def _send_part(ns, spec):
    parts = _state(ns).get(spec["id"])
    if not isinstance(parts, list):
        raise Failure("lost", "LookupError", "upload %s is not open remotely" % spec["id"])
    if spec["index"] != len(parts):
        raise Failure("corrupt", "ValueError", "upload part %d arrived out of order (expected %d)"
                      % (spec["index"], len(parts)))
    data = spec["data"]
    if zlib.crc32(data.encode("ascii")) & 0xFFFFFFFF != spec["crc32"]:
        raise Failure("corrupt", "ValueError", "upload part %d failed its checksum" % spec["index"])
    parts.append(data)
    return {"received": sum(len(p) for p in parts)}, ""


def _send_end(ns, spec):
    import pyarrow as pa

    name = _check_name(spec["name"])
    parts = _state(ns).pop(spec["id"], None)
    _tidy(ns)
    if not isinstance(parts, list):
        raise Failure("lost", "LookupError", "upload %s is not open remotely" % spec["id"])
    payload = "".join(parts)
    digest = hashlib.sha256(payload.encode("ascii")).hexdigest()
    if len(payload) != spec["length"] or digest != spec["sha256"]:
        raise Failure("corrupt", "ValueError", "the uploaded data is incomplete or corrupted "
                      "(%d of %d characters arrived)" % (len(payload), spec["length"]))
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Failure("corrupt", "ValueError", "the uploaded data is not valid base64: %s" % exc)
    table = pa.ipc.open_stream(raw).read_all()
    spark = _spark(ns)
    schema = None
    try:
        from pyspark.sql.pandas.types import from_arrow_schema

        schema = from_arrow_schema(table.schema, prefer_timestamp_ntz=True)
    except (ImportError, TypeError):
        pass
    try:
        df = spark.createDataFrame(table, schema=schema)
    except TypeError:  # PySpark < 4 takes no Arrow table: go through pandas
        df = spark.createDataFrame(table.to_pandas(), schema=schema)
    df = df.toDF(*spec["columns"])
    ns[name] = df
    return {"rows": table.num_rows, "schema": df.schema.simpleString()}, ""
