"""Pieces shared by the export writers: the record type, chunking and cell rendering."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson

# One export record: a line of the ``jsonl`` export, exactly (see the writers' module docstring).
ExportRecord = Mapping[str, Any]
# Question names, or question name -> kind (``rating``, ``choice``, ...) where a writer can use it.
Questions = Sequence[str] | Mapping[str, str]

# Streaming responses and files both do better with tens of KiB per write than one line per write.
CHUNK_BYTES = 1 << 16
_DUMP_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
# Cells a spreadsheet would read as a formula (OWASP's list, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=_DUMP_OPTIONS)


def dump_line(value: Any) -> bytes:
    return orjson.dumps(value, option=_DUMP_OPTIONS | orjson.OPT_APPEND_NEWLINE)


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Group small byte strings into chunks of about ``CHUNK_BYTES``."""
    buffer: list[bytes] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_BYTES:
            yield b"".join(buffer)
            buffer.clear()
            size = 0
    if buffer:
        yield b"".join(buffer)


def question_names(questions: Questions) -> list[str]:
    return list(questions.keys()) if isinstance(questions, Mapping) else list(questions)


def plain_cell(value: Any) -> str | None:
    """A value as one text cell: strings as they are, anything else JSON-encoded; None stays None."""
    if value is None or isinstance(value, str):
        return value
    return dumps(value).decode()


def safe_cell(value: Any) -> str:
    """A CSV cell that no spreadsheet will run as a formula.

    The rule: a *string* value is user content (item text, an annotator's answer, an option name,
    an email) and gets a leading ``'`` when it starts with ``= + - @``, a tab or a carriage return.
    Every other value is rendered by us as JSON (numbers, booleans, lists, objects) and can never
    be a formula, so a preference of ``-2`` stays the number ``-2``; a list or object starts with
    ``[`` or ``{``.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return dumps(value).decode()


def annotations_of(record: ExportRecord) -> list[Mapping[str, Any]]:
    annotations = record.get("annotations") or []
    return list(annotations)


def label_of(record: ExportRecord, question: str) -> Mapping[str, Any] | None:
    labels = record.get("labels") or {}
    label = labels.get(question)
    return label if isinstance(label, Mapping) else None
