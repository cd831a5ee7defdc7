"""Export writers: each turns an iterable of export records into a stream of ``bytes`` chunks.

An export record is one line of the ``jsonl`` export (DESIGN.md §5)::

    {"item_id": int, "external_id": str | None, "batch": str | None, "data": {...},
     "annotations": [{"annotation_id" (int), "annotator" (email), "workforce", "assignment_id" (int),
                      "answers": {...}, "duration_ms", "created_at" (ISO 8601), "review"}],
     "labels": {question: {"value": any, "confidence": float, "n": int}}}

Writers never hold more than one chunk (or one Parquet row group) of records, so an export of any
size streams to an HTTP response or a file.

Tabular exports (``csv`` and ``parquet``) have one row per annotation; an item without annotations
gets one row with empty annotation columns.  Columns, in order: ``item_id``, ``external_id``,
``batch``, ``data.<field>`` for each data field, ``annotation_id``, ``annotator``, ``workforce``,
``assignment_id``, ``created_at``, ``duration_ms``, ``review``, ``answer.<question>``,
``label.<question>``, ``confidence.<question>``.  Because rows stream, the column set comes from
the project schema (``data_fields``, ``questions``), not from the records.  Non-string values are
JSON-encoded in text cells.

CSV cells are protected against formula injection by ``safe_cell``: strings (user content) whose
first visible character starts a formula in any width or form (``= + - @``, full-width ``＝``,
after any leading spaces, newlines or invisible characters), or that start with a tab or a
carriage return, get a leading ``'``; numbers and other values we encode ourselves are never
touched.  The file is UTF-8 without a BOM.

Parquet columns are typed where the type is certain, and hold what the JSONL export holds: the ids
``item_id``, ``annotation_id`` and ``assignment_id`` are int64 (integers in JSONL and CSV too),
``created_at`` is a UTC timestamp, ``duration_ms`` an int64, ``confidence.*`` float64.  When ``questions`` maps names to kinds,
``rating`` and ``preference`` answers are int64 and their labels float64 (an aggregate may be
fractional), ``choice`` and ``text`` are strings, and other kinds (``multi_choice``, ``ranking``,
``spans``) are JSON text; with bare names every answer and label is a string as in the CSV.
Row groups hold ``PARQUET_ROW_GROUP`` rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from assay.formats._common import (
    ExportRecord,
    Questions,
    annotations_of,
    chunked,
    dump_line,
    label_of,
    plain_cell,
    question_names,
    safe_cell,
)
from assay.formats.training import write_dpo, write_sft

__all__ = [
    "PARQUET_ROW_GROUP",
    "tabular_columns",
    "write_csv",
    "write_dpo",
    "write_jsonl",
    "write_parquet",
    "write_sft",
]

PARQUET_ROW_GROUP = 4096
_CSV_FLUSH_ROWS = 512
_ANNOTATION_COLUMNS = (
    "annotation_id",
    "annotator",
    "workforce",
    "assignment_id",
    "created_at",
    "duration_ms",
    "review",
)


def write_jsonl(records: Iterable[ExportRecord]) -> Iterator[bytes]:
    """The ``jsonl`` export: one JSON object per record and line."""
    return chunked(dump_line(record) for record in records)


def tabular_columns(*, data_fields: Sequence[str], questions: Questions) -> list[str]:
    """The column names of the ``csv`` and ``parquet`` exports, in order."""
    names = question_names(questions)
    return [
        "item_id",
        "external_id",
        "batch",
        *(f"data.{field}" for field in data_fields),
        *_ANNOTATION_COLUMNS,
        *(f"answer.{q}" for q in names),
        *(f"label.{q}" for q in names),
        *(f"confidence.{q}" for q in names),
    ]


def _rows(
    records: Iterable[ExportRecord], *, data_fields: Sequence[str], questions: Sequence[str]
) -> Iterator[list[Any]]:
    """Raw values of each tabular row, before rendering to cells."""
    for record in records:
        data = record.get("data") or {}
        head = [
            record.get("item_id"),
            record.get("external_id"),
            record.get("batch"),
            *(data.get(f) for f in data_fields),
        ]
        labels = [label_of(record, q) for q in questions]
        tail = [*(lb.get("value") if lb else None for lb in labels)]
        tail += [lb.get("confidence") if lb else None for lb in labels]
        annotations = annotations_of(record)
        if not annotations:
            yield [*head, *([None] * (len(_ANNOTATION_COLUMNS) + len(questions))), *tail]
        for annotation in annotations:
            answers = annotation.get("answers") or {}
            yield [
                *head,
                *(annotation.get(column) for column in _ANNOTATION_COLUMNS),
                *(answers.get(q) for q in questions),
                *tail,
            ]


def write_csv(
    records: Iterable[ExportRecord], *, data_fields: Sequence[str], questions: Questions
) -> Iterator[bytes]:
    """The ``csv`` export: a header, then one row per annotation (see the module docstring)."""
    names = question_names(questions)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(tabular_columns(data_fields=data_fields, questions=names))
    pending = 1
    for row in _rows(records, data_fields=data_fields, questions=names):
        writer.writerow([safe_cell(value) for value in row])
        pending += 1
        if pending >= _CSV_FLUSH_ROWS:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
            pending = 0
    if pending:
        yield out.getvalue().encode()


class _Drain:
    """A write-only file for ParquetWriter whose bytes are taken out after each row group.

    ``tell`` keeps counting across drains: the Parquet footer records absolute offsets.
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _answer_type(kind: str | None) -> tuple[pa.DataType, pa.DataType]:
    """Arrow types of a question's answer and label columns."""
    if kind in ("rating", "preference"):
        return pa.int64(), pa.float64()
    return pa.string(), pa.string()


def _parquet_schema(*, data_fields: Sequence[str], questions: Questions) -> pa.Schema:
    names = question_names(questions)
    kinds: Mapping[str, str] = questions if isinstance(questions, Mapping) else {}
    fields = [
        pa.field("item_id", pa.int64()),
        pa.field("external_id", pa.string()),
        pa.field("batch", pa.string()),
    ]
    fields += [pa.field(f"data.{f}", pa.string()) for f in data_fields]
    fields += [
        pa.field("annotation_id", pa.int64()),
        pa.field("annotator", pa.string()),
        pa.field("workforce", pa.string()),
        pa.field("assignment_id", pa.int64()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
        pa.field("duration_ms", pa.int64()),
        pa.field("review", pa.string()),
    ]
    types = [_answer_type(kinds.get(q)) for q in names]
    fields += [pa.field(f"answer.{q}", t[0]) for q, t in zip(names, types, strict=True)]
    fields += [pa.field(f"label.{q}", t[1]) for q, t in zip(names, types, strict=True)]
    fields += [pa.field(f"confidence.{q}", pa.float64()) for q in names]
    return pa.schema(fields)


def _timestamp(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        moment = value
    else:
        moment = dt.datetime.fromisoformat(str(value))
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # stored times are UTC
    return moment


def _column(values: list[Any], field: pa.Field) -> pa.Array:
    if pa.types.is_string(field.type):
        values = [plain_cell(v) for v in values]
    elif pa.types.is_timestamp(field.type):
        values = [_timestamp(v) for v in values]
    try:
        return pa.array(values, type=field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"export column {field.name!r}: a value does not fit {field.type} ({exc})") from None


def write_parquet(
    records: Iterable[ExportRecord], *, data_fields: Sequence[str], questions: Questions
) -> Iterator[bytes]:
    """The ``parquet`` export: the CSV's rows with typed columns (see the module docstring)."""
    schema = _parquet_schema(data_fields=data_fields, questions=questions)
    names = question_names(questions)
    sink = _Drain()
    writer = pq.ParquetWriter(pa.PythonFile(sink, mode="w"), schema, compression="zstd")
    batch: list[list[Any]] = []

    def flush() -> bytes:
        columns = list(zip(*batch, strict=True))
        table = pa.Table.from_arrays(
            [_column(list(col), field) for col, field in zip(columns, schema, strict=True)], schema=schema
        )
        writer.write_table(table, row_group_size=PARQUET_ROW_GROUP)
        batch.clear()
        return sink.take()

    try:
        for row in _rows(records, data_fields=data_fields, questions=names):
            batch.append(row)
            if len(batch) >= PARQUET_ROW_GROUP:
                chunk = flush()
                if chunk:
                    yield chunk
        if batch:
            yield flush()
    finally:
        writer.close()
    yield sink.take()
