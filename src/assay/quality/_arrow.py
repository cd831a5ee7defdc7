"""Arrow <-> NumPy and Python strings without pandas.

``Array.to_numpy``, ``np.asarray(array)``, ``pa.array(...)`` of anything (a list too) and
``pa.scalar`` make pyarrow import pandas when it is installed (to check for pandas types), which
costs about 40 MB of resident memory and a second of start-up for nothing.  These helpers build
arrays from raw buffers instead: zero-copy for numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa


def numbers(arr: pa.Array | pa.ChunkedArray) -> np.ndarray[Any, Any]:
    """A fixed-width numeric array without nulls as NumPy, sharing its memory where possible."""
    if isinstance(arr, pa.ChunkedArray):
        if arr.num_chunks == 1:
            return numbers(arr.chunk(0))
        parts = [numbers(c) for c in arr.chunks]
        return np.concatenate(parts) if parts else np.empty(0, dtype=arr.type.to_pandas_dtype())
    if arr.null_count:
        raise ValueError("internal: numbers() needs an array without nulls")
    dtype = np.dtype(arr.type.to_pandas_dtype())
    data = arr.buffers()[1]
    if data is None:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(data, dtype=dtype, count=len(arr), offset=arr.offset * dtype.itemsize)


def array(values: np.ndarray[Any, Any]) -> pa.Array:
    """A 1-d NumPy array of a fixed-width number type as an Arrow array, sharing its memory."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])


def strings(values: Sequence[Any]) -> pa.Array:
    """Python strings (others by ``str``; None is null) as an Arrow string array."""
    texts = ["" if v is None else v if isinstance(v, str) else str(v) for v in values]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)), out=offsets[1:])
    joined = "".join(texts).encode()
    if len(joined) != offsets[-1]:  # not all ASCII: lengths in bytes differ from those in characters
        encoded = [t.encode() for t in texts]
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
        joined = b"".join(encoded)
    data = pa.py_buffer(joined)
    nulls = [i for i, v in enumerate(values) if v is None]
    validity = None
    if nulls:
        valid = np.ones(len(texts), dtype=bool)
        valid[nulls] = False
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    kind = pa.large_string() if offsets[-1] >= 2**31 else pa.string()
    if kind == pa.string():
        offsets = offsets.astype(np.int32)
    return pa.Array.from_buffers(
        kind, len(texts), [validity, pa.py_buffer(offsets), data], null_count=len(nulls)
    )
