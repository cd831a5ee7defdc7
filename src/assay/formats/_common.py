"""Pieces shared by the export writers: the record type, chunking, votes and cell rendering."""

from __future__ import annotations

import unicodedata
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
# Characters that make a spreadsheet read a cell as a formula (OWASP's list, "CSV injection"), once
# leading blanks are skipped and the first visible character is folded to its plain form (NFKC:
# full-width "＝", small "﹦" and the like are "=").  A leading tab or carriage return is a formula
# start by itself.  U+2212 (minus sign) has no NFKC fold but reads as a minus.
FORMULA_STARTS = frozenset("=+-@\u2212")
_CONTROL_STARTS = ("\t", "\r")
# Leading characters a spreadsheet may skip or not show: whitespace, controls, invisible formatting
# (zero-width space, byte-order mark, direction marks).
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


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


def is_formula(text: str) -> bool:
    """Whether a spreadsheet could evaluate ``text``: its first visible character, in any width or
    form, starts a formula (see ``FORMULA_STARTS``), or it starts with a tab or carriage return."""
    if text.startswith(_CONTROL_STARTS):
        return True
    for char in text:
        if char.isascii():  # the common case, decided without a Unicode lookup
            if char in FORMULA_STARTS:
                return True
            if char.isspace() or char < " " or char == "\x7f":
                continue
            return False
        if char.isspace() or unicodedata.category(char) in _INVISIBLE:
            continue
        return char in FORMULA_STARTS or unicodedata.normalize("NFKC", char)[:1] in FORMULA_STARTS
    return False


def safe_cell(value: Any) -> str:
    """A CSV cell that no spreadsheet will run as a formula.

    The rule: a *string* value is user content (item text, an annotator's answer, an option name,
    an email) and gets a leading ``'`` when ``is_formula`` says a spreadsheet could evaluate it.
    Every other value is rendered by us as JSON (numbers, booleans, lists, objects) and can never
    be a formula, so a preference of ``-2`` stays the number ``-2``; a list or object starts with
    ``[`` or ``{``.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if is_formula(value) else value
    return dumps(value).decode()


def annotations_of(record: ExportRecord) -> list[Mapping[str, Any]]:
    annotations = record.get("annotations") or []
    return list(annotations)


def votes(annotations: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The annotations that count: a rejected answer is no vote, no label and no training row."""
    return [a for a in annotations if a.get("review") != "reject"]


def label_of(record: ExportRecord, question: str) -> Mapping[str, Any] | None:
    labels = record.get("labels") or {}
    label = labels.get(question)
    return label if isinstance(label, Mapping) else None
