"""Arrow <-> NumPy without pandas.

``Array.to_numpy``, ``np.asarray(array)`` and ``pa.array(ndarray)`` make pyarrow import pandas when
it is installed (to check for pandas types), which costs about 40 MB of resident memory and a second
of start-up for nothing.  These helpers wrap the raw buffers instead: zero-copy both ways.
"""

from __future__ import annotations

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
