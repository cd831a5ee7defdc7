"""A streaming nesting bound for JSON, applied to the bytes before any parser builds anything.

ijson's cost grows with the square of the nesting depth (it builds a prefix string for every
event: 20,000 levels in a 200 KB file took 12.5 s and 970 MB), so a JSON array is bounded here,
chunk by chunk, as the parser reads it.  The scan is a handful of C-level passes over each chunk
(``bytes.replace``, ``translate``, ``split``) and NumPy over what is left, the brackets and commas
outside strings, so it costs little next to parsing:

1. escaped backslashes (``\\\\``) and then escaped quotes (``\\"``) are removed: every quote left
   opens or closes a string (a run of backslashes at the end of a chunk waits for the next one);
2. every byte except ``"[]{},`` is deleted, and the pieces between quotes that lie outside strings
   are kept (whether the chunk starts inside a string is carried over);
3. the running depth of what remains is a cumulative sum; commas at depth 1 count the array's items,
   so the refusal names the item that went too deep.

Only valid JSON is counted exactly; invalid JSON may be miscounted, but then the parser refuses it
anyway (at the latest when it reaches the bytes this scan has seen).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from assay.errors import Invalid

_KEEP = b'"[]{},'
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_STEP = np.zeros(256, dtype=np.int64)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1
_COMMA = ord(",")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class TooDeep(Invalid):
    """The array's item ``item`` is nested deeper than the bound."""

    def __init__(self, message: str, *, item: int) -> None:
        super().__init__(message)
        self.item = item


class DepthGuard:
    """A read-only stream over ``source`` that raises ``TooDeep`` as soon as the JSON it passes on
    nests deeper than ``limit`` levels (the top-level array counts as one)."""

    def __init__(self, source: Readable, *, limit: int) -> None:
        self._source = source
        self._limit = limit
        self._depth = 0
        self._in_string = False
        self._odd_backslash = False  # the last chunk ended in an odd run of backslashes
        self._items = 0  # commas seen at depth 1: the index (from 0) of the array's current item
        self._tail = b""  # the last bytes read, where a "\\u0000" split between chunks begins
        self.nul_seen = False  # a "\\u0000" escape (or a text that looks like one) was read

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size)
        if chunk:
            self._scan(chunk)
        return chunk

    def _scan(self, chunk: bytes) -> None:
        if not self.nul_seen:
            self.nul_seen = b"\\u0000" in self._tail + chunk[:5] or b"\\u0000" in chunk
            self._tail = chunk[-5:]
        data = b"\\" + chunk if self._odd_backslash else chunk
        if b"\\" in data:
            body = data.rstrip(b"\\")
            # A trailing run escapes what the next chunk starts with; pairs in it escape each other.
            self._odd_backslash = (len(data) - len(body)) % 2 == 1
            if b"\\\\" in body:
                body = body.replace(b"\\\\", b"")
            data = body.replace(b'\\"', b"") if b'\\"' in body else body
        else:
            self._odd_backslash = False
        parts = data.translate(None, _DROP).split(b'"')
        outside = b"".join(parts[1::2] if self._in_string else parts[0::2])
        if (len(parts) - 1) % 2:
            self._in_string = not self._in_string
        if not outside:
            return
        codes = np.frombuffer(outside, dtype=np.uint8)
        depth = self._depth + np.cumsum(_STEP[codes])
        top_commas = (codes == _COMMA) & (depth == 1)
        if int(depth.max()) > self._limit:
            at = int(np.argmax(depth > self._limit))
            item = self._items + int(np.count_nonzero(top_commas[:at])) + 1
            raise TooDeep(f"nested deeper than {self._limit - 1} levels", item=item)
        self._items += int(np.count_nonzero(top_commas))
        self._depth = int(depth[-1])
