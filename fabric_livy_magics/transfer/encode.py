"""pandas to an Arrow IPC payload for ``send``: types Spark accepts, and no silent loss.

Columns are converted one by one under positional names (Arrow refuses duplicate names; the
real names travel separately). Float NaN becomes a Spark null, as PySpark's own
``createDataFrame(pandas_df)`` does. What Spark cannot hold exactly (nanoseconds, uint64 values
above 2**63, decimals wider than 38 digits) is refused with the column's name, not rounded.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from fabric_livy_magics.errors import ConfigurationError

if TYPE_CHECKING:
    import pandas
    import pyarrow

__all__ = ["pandas_to_arrow", "encode_arrow_payload"]


def pandas_to_arrow(frame: pandas.DataFrame) -> pyarrow.Table:
    """pandas DataFrame -> Arrow table with columns ``_0``, ``_1``, ... (the index is dropped)."""
    import pandas as pd
    import pyarrow as pa

    if not isinstance(frame, pd.DataFrame):
        raise ConfigurationError(
            f"Only a pandas DataFrame can be sent, not a {type(frame).__name__}."
        )
    arrays = []
    for i in range(frame.shape[1]):
        name = frame.columns[i]
        series = frame.iloc[:, i]
        try:
            array = pa.array(series, from_pandas=True)
            arrays.append(_spark_compatible(array))
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
            raise ConfigurationError(
                f"Column {name!r} ({series.dtype}) cannot be sent to Spark: {exc}. Convert it "
                "first, e.g. with astype(), so every value has one type Spark supports."
            ) from exc
    return pa.Table.from_arrays(arrays, names=[f"_{i}" for i in range(len(arrays))])


def _spark_compatible(array: pyarrow.Array) -> pyarrow.Array:
    """Cast types Spark lacks to ones it has; ``safe`` casts raise instead of losing data."""
    import pyarrow as pa

    types = pa.types
    t = array.type
    if types.is_dictionary(t):  # pandas categoricals
        return _spark_compatible(array.dictionary_decode())
    if types.is_unsigned_integer(t):
        wider = {8: pa.int16(), 16: pa.int32(), 32: pa.int64(), 64: pa.int64()}[t.bit_width]
        return array.cast(wider, safe=True)
    if types.is_float16(t):
        return array.cast(pa.float32())
    if types.is_large_string(t):
        return array.cast(pa.string())
    if types.is_large_binary(t):
        return array.cast(pa.binary())
    if types.is_timestamp(t) and t.unit != "us":
        return array.cast(pa.timestamp("us", tz=t.tz), safe=True)
    if types.is_duration(t) and t.unit != "us":
        return array.cast(pa.duration("us"), safe=True)
    if types.is_date64(t):
        return array.cast(pa.date32())
    if types.is_decimal(t) and (t.bit_width > 128 or t.precision > 38):
        raise ValueError(f"{t} is wider than Spark's decimal(38)")
    return array


def encode_arrow_payload(table: pyarrow.Table, codec: str | None) -> str:
    """Arrow table -> base64 text of an Arrow IPC stream, compressed with ``codec`` if given."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=codec)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table, max_chunksize=1 << 16)
    return base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")
