"""Readers for item imports: JSONL/NDJSON, a JSON array, CSV and Parquet.

``read_records`` yields ``(position, record)`` pairs one at a time so an import of any size runs in
flat memory: nothing here reads a whole file.  ``position`` is what an error message should cite:
the 1-based line for JSONL and CSV (the row's first physical line), the 1-based element index for a
JSON array ("item N"), the 1-based row for Parquet.  Every record is a JSON object (``dict``) within
the bounds of ``assay.limits`` (nesting, NUL, lone surrogates, 64-bit integers, finite numbers); the
shape inside it (``data`` required, ...) is checked by the import workflow, which names the same
position.

A problem with one record (a JSONL line that is not JSON, a CSV row with too many fields, a value
out of bounds) is yielded in its place as an ``Invalid`` and reading goes on, so that an import can
report every problem of a file in one pass.  A problem after which nothing more can be read (a JSON
array's syntax error, an unreadable Parquet file) is raised.  Messages start with ``{name}: line N``
(or ``item N``, ``row N``; no name for a request body) and say what to fix; the same place is in
``errors[0]["loc"]``.  ``iter_records`` is the strict form: it raises the first problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson
import orjson

from assay.errors import Invalid, detail
from assay.formats._depth import DepthGuard, TooDeep
from assay.formats._lines import BOM, iter_lines
from assay.formats._problems import checked, problem
from assay.formats._tabular import iter_csv, iter_parquet
from assay.limits import MAX_DEPTH, json_syntax

__all__ = ["FORMATS", "detect_format", "iter_records", "read_records"]

FORMATS = ("jsonl", "json", "csv", "parquet")

_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonlines": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_CONTENT_TYPES = {
    "application/x-ndjson": "jsonl",
    "application/ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/jsonlines": "jsonl",
    "application/json-lines": "jsonl",
    "application/json": "json",
    "text/json": "json",
    "text/csv": "csv",
    "application/csv": "csv",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/parquet": "parquet",
}


def _json_backend() -> Any:
    # The C backend (bundled with ijson wheels) parses a JSON array about 10x faster than the
    # pure-Python one; fall back to ijson's own default choice where it is missing.
    try:
        return ijson.get_backend("yajl2_c")
    except Exception:  # pragma: no cover - depends on how ijson was built
        return ijson


_IJSON = _json_backend()
_YAJL = _IJSON is not ijson
_PEEK = 1 << 16


def detect_format(*, filename: str | None, content_type: str | None) -> str:
    """Name the format of an upload from its file name, else its content type.

    The extension wins because it is what the user chose; content types of uploads are often
    generic (``application/octet-stream``) or guessed.  Raises ``Invalid`` when neither says.
    """
    if filename:
        lowered = filename.lower()
        for ext, fmt in _EXTENSIONS.items():
            if lowered.endswith(ext):
                return fmt
    if content_type:
        base = content_type.split(";", 1)[0].strip().lower()
        if base in _CONTENT_TYPES:
            return _CONTENT_TYPES[base]
    what = filename or "the upload"
    msg = (
        f"{what}: unknown file format (content type {content_type!r}); name the file .jsonl, .json, "
        ".csv or .parquet, or give the format explicitly"
    )
    raise Invalid(msg, errors=[detail("format", msg, filename=filename, content_type=content_type)])


Record = dict[str, Any]


def read_records(
    source: BinaryIO,
    *,
    fmt: str,
    name: str | None,
    json_fields: frozenset[str] = frozenset(),
    columns: frozenset[str] | None = None,
) -> Iterator[tuple[int, Record | Invalid]]:
    """Stream ``(position, record)`` pairs from ``source`` in format ``fmt``, a problem in place of a
    bad record.

    ``name`` is how messages refer to the file (None: a request body, named by position alone).
    ``json_fields`` names CSV/Parquet columns whose cells hold JSON (``chat`` and ``responses``
    inputs), parsed rather than kept as strings.  ``columns``, when given, is every data field a
    CSV/Parquet column may name (the project's inputs); another column is a problem, since a file of
    another shape would otherwise be imported wrongly.  Parquet needs a seekable source (spool a
    network body to a temporary file first).
    """
    if fmt == "jsonl":
        return _iter_jsonl(source, name=name)
    if fmt == "json":
        return _iter_json(source, name=name)
    if fmt == "csv":
        return iter_csv(source, name=name, json_fields=json_fields, columns=columns)
    if fmt == "parquet":
        return iter_parquet(source, name=name, json_fields=json_fields, columns=columns)
    msg = f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}"
    raise Invalid(f"{name}: {msg}" if name else msg, errors=[detail("format", msg)])


def iter_records(
    source: BinaryIO,
    *,
    fmt: str,
    name: str | None,
    json_fields: frozenset[str] = frozenset(),
    columns: frozenset[str] | None = None,
) -> Iterator[tuple[int, Record]]:
    """``read_records`` that raises the first problem: for callers that want all the file or nothing."""
    for position, record in read_records(
        source, fmt=fmt, name=name, json_fields=json_fields, columns=columns
    ):
        if isinstance(record, Invalid):
            raise record
        yield position, record


def _not_object(name: str | None, where: str, value: Any) -> Invalid:
    kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
    return problem(name, where, f'expected a JSON object like {{"data": {{...}}}}, got {kind}')


def _iter_jsonl(source: BinaryIO, *, name: str | None) -> Iterator[tuple[int, Record | Invalid]]:
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    for number, line in enumerate(iter_lines(source), start=1):
        if number == 1 and line.startswith(BOM):
            line = line[3:]
        try:
            value = loads(line)  # JSON whitespace includes "\r", so CRLF files parse as is
        except decode_error as exc:
            if not line.strip():
                continue
            why = json_syntax(exc)
            yield (
                number,
                problem(
                    name,
                    f"line {number}",
                    f"not valid JSON at column {exc.colno} ({why}); write one JSON object per line",
                ),
            )
            continue
        if type(value) is not dict:
            yield number, _not_object(name, f"line {number}", value)
            continue
        yield number, checked(value, name=name, where=f"line {number}", raw=line)


class _Prefixed:
    """A read-only stream that replays ``head`` before the rest of ``source``."""

    def __init__(self, head: bytes, source: BinaryIO) -> None:
        self._head = head
        self._source = source

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes the stream type with read(0)
            return b""
        if self._head:
            # Hand out no more than asked: the C parser turns a whole read into items at once, so
            # a large read would hold thousands of records in memory.
            cut = len(self._head) if size < 0 else size
            out, self._head = self._head[:cut], self._head[cut:]
            return out
        return self._source.read(size)


def _yajl_reason(exc: Exception) -> str:
    text = str(exc)
    if text.startswith(("b'", 'b"')):  # the C backend sometimes hands back a bytes repr
        text = text[2:-1].encode().decode("unicode_escape", errors="replace")
    lines = [part.strip() for part in text.splitlines() if part.strip()]
    reason = lines[0] if lines else type(exc).__name__
    if len(lines) > 1 and not lines[1].startswith("(right here)"):
        reason += f" near {lines[1][:60]!r}"
    return reason


def _iter_json(source: BinaryIO, *, name: str | None) -> Iterator[tuple[int, Record | Invalid]]:
    # Peek at the first significant byte: ijson's "item" prefix silently yields nothing for a
    # top-level object, and an import of zero items must not pass for a successful one.
    head = b""
    while True:
        chunk = source.read(_PEEK)
        if not chunk:
            break
        head += chunk
        stripped = head.removeprefix(BOM).lstrip()
        if stripped:
            break
    stripped = head.removeprefix(BOM).lstrip()
    if not stripped:
        raise problem(name, "item 1", "the file is empty; expected a JSON array of objects")
    if stripped[:1] != b"[":
        raise problem(
            name,
            "item 1",
            'the top-level value is not an array; expected [{"data": {...}}, ...] '
            "(use the jsonl format for one object per line)",
        )
    # The guard sees every byte before the parser does: nothing deeper than the bound is parsed.
    stream = DepthGuard(_Prefixed(stripped, source), limit=MAX_DEPTH + 1)
    index = 0
    try:
        for value in _IJSON.items(stream, "item", use_float=True):
            index += 1
            if type(value) is not dict:
                yield index, _not_object(name, f"item {index}", value)
                continue
            if stream.nul_seen or not _YAJL:
                yield index, checked(value, name=name, where=f"item {index}")
            else:
                # yajl refuses integers beyond 64 bits, non-finite numbers and NaN, and the guard
                # bounds the depth: with no NUL escape read so far, the item is within bounds.
                yield index, value
    except TooDeep as exc:
        raise problem(name, f"item {exc.item}", exc.message) from None
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise problem(name, f"item {index + 1}", f"not valid JSON ({_yajl_reason(exc)})") from None
