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

from assay import patterns
from assay.errors import Invalid

_KEEP = b'"[]{},'
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_STEP = np.zeros(256, dtype=np.int64)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1
_COMMA = ord(",")
# A surrogate escape: a high one followed by a low one is a pair (one character); any other is
# lone.  Leftmost-first alternation takes a pair whole, so a 6-byte match is a lone surrogate.
_SURROGATES = patterns.compile_bytes(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)
_PAIR = 12  # bytes of an escaped surrogate pair
# Searched with RE2, which finds a literal with memchr: several times faster than ``bytes in``.
_NUL = patterns.compile_bytes(rb"\\u0000")
_ANY_SURROGATE = patterns.compile_bytes(rb"\\u[dD][89a-fA-F]")
_ESCAPED_BACKSLASH = patterns.compile_bytes(rb"\\\\")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class TooDeep(Invalid):
    """The array's item ``item`` breaks a bound that its bytes show (nesting, a lone surrogate)."""

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
        # Escapes not yet judged (the last bytes read, which the next read may complete), after
        # ``_context`` bytes that precede them and were judged already.
        self._pending = b""
        self._context = 0
        self._pending_item: int | None = None

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size)
        if chunk:
            self._scan(chunk)
        elif size != 0 and self._pending:
            self._lone_surrogates(b"", final=True)
        return chunk

    def _lone_surrogates(self, escaped: bytes, *, final: bool) -> None:
        """Refuse a lone surrogate escape (``\\ud800`` without its pair): yajl would turn it into
        "?" or pair it with another high one.  ``escaped`` is the chunk with escaped backslashes
        removed, so every backslash left starts an escape."""
        window = self._pending + escaped
        if not _ANY_SURROGATE.search(window):
            # Nothing to judge, unless the last bytes begin an escape that the next read completes.
            tail = window[-6:]
            partial = tail.rfind(b"\\")
            self._pending, self._context = tail, len(tail) if partial < 0 else partial
            self._pending_item = None  # at the chunk's very end: the item where the chunk ends
            return
        cut = len(window) if final else max(len(window) - _PAIR, self._context)
        for match in _SURROGATES.finditer(window):
            start = match.start()
            if start >= cut:
                break
            if start >= self._context and match.end() - start == 6:
                code = window[start + 2 : start + 6].decode("ascii").upper()
                before = start - (len(window) - len(escaped))  # where it is in this chunk
                if before >= 0:
                    item = self._items + self._top_commas(escaped[:before]) + 1
                else:  # read before this chunk, and judged now that what follows it is known
                    item = self._items + 1 if self._pending_item is None else self._pending_item
                raise TooDeep(
                    f"holds a lone surrogate (U+{code}), which is not valid Unicode text", item=item
                )
        keep = max(cut - 6, 0)
        self._pending, self._context = window[keep:], cut - keep
        # The item an escape judged later belongs to, fixed now while it is known.
        start_here = keep - (len(window) - len(escaped))
        if start_here >= 0:
            found = _ANY_SURROGATE.search(self._pending)
            self._pending_item = self._items + self._top_commas(escaped[:start_here]) + 1 if found else None
        elif self._pending_item is None:
            self._pending_item = self._items + 1

    def _outside(self, escaped: bytes) -> tuple[bytes, bool]:
        """The brackets and commas of ``escaped`` that lie outside strings, and whether it ends inside one."""
        data = escaped.replace(b'\\"', b"") if b'\\"' in escaped else escaped
        parts = data.translate(None, _DROP).split(b'"')
        outside = b"".join(parts[1::2] if self._in_string else parts[0::2])
        return outside, self._in_string != bool((len(parts) - 1) % 2)

    def _top_commas(self, escaped: bytes) -> int:
        """Commas at depth 1 in ``escaped`` read from the current state: items it moves past."""
        outside, _ = self._outside(escaped)
        codes = np.frombuffer(outside, dtype=np.uint8)
        depth = self._depth + np.cumsum(_STEP[codes])
        return int(np.count_nonzero((codes == _COMMA) & (depth == 1)))

    def _scan(self, chunk: bytes) -> None:
        if not self.nul_seen:
            self.nul_seen = bool(_NUL.search(self._tail + chunk[:5]) or _NUL.search(chunk))
            self._tail = chunk[-5:]
        data = b"\\" + chunk if self._odd_backslash else chunk
        if b"\\" in data:
            body = data.rstrip(b"\\")
            # A trailing run escapes what the next chunk starts with; pairs in it escape each other.
            self._odd_backslash = (len(data) - len(body)) % 2 == 1
            if _ESCAPED_BACKSLASH.search(body):
                body = body.replace(b"\\\\", b"")
            self._lone_surrogates(body, final=False)
            data = body
        else:
            self._odd_backslash = False
            if self._pending:
                self._lone_surrogates(data, final=False)
        outside, self._in_string = self._outside(data)
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
