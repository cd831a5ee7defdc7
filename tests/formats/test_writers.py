"""Export writers: jsonl, csv and parquet, streamed in chunks."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from format_records import annotation, record

from assay.formats import tabular_columns, write_csv, write_jsonl, write_parquet
from assay.formats.writers import PARQUET_ROW_GROUP

PAIR = {
    "prompt": "Say hi",
    "responses": [{"id": "a", "content": "hi"}, {"id": "b", "content": "=HYPERLINK()"}],
}
QUESTIONS = {"overall": "preference", "helpful": "rating", "why": "text", "tags": "multi_choice"}


def sample() -> list[dict[str, Any]]:
    return [
        record(
            "it-1",
            PAIR,
            [
                annotation(
                    1, {"overall": -2, "helpful": 6, "why": "-dash start", "tags": ["x"]}, review="accept"
                ),
                annotation(2, {"overall": -1, "helpful": 5, "why": "@mention"}),
            ],
            {
                "overall": {"value": -1, "confidence": 1.0, "n": 2},
                "helpful": {"value": 5, "confidence": 1.0, "n": 2},
            },
            external_id="+x-1",
            batch="=de",
        ),
        record("it-2", {"prompt": "No answers yet", "responses": []}, []),
    ]


def test_jsonl_round_trip() -> None:
    records = sample()
    blob = b"".join(write_jsonl(iter(records)))
    assert [orjson.loads(line) for line in blob.splitlines()] == records


def test_jsonl_streams_in_bounded_chunks() -> None:
    def many() -> Iterator[dict[str, Any]]:
        for i in range(5000):
            yield record(f"it-{i}", {"text": "x" * 100}, [])

    chunks = list(write_jsonl(many()))
    assert len(chunks) > 5
    assert max(len(c) for c in chunks) < 2 * (1 << 16)
    assert b"".join(chunks).count(b"\n") == 5000


def test_csv_rows_columns_and_formula_neutralising() -> None:
    blob = b"".join(write_csv(sample(), data_fields=["prompt", "responses"], questions=list(QUESTIONS)))
    rows = list(csv.DictReader(io.StringIO(blob.decode())))
    assert list(rows[0]) == tabular_columns(data_fields=["prompt", "responses"], questions=QUESTIONS)
    assert len(rows) == 3
    first, second, empty = rows
    # Numbers we encode stay numbers; strings from users that look like formulas are defused.
    assert first["answer.overall"] == "-2"
    assert first["label.overall"] == "-1"
    assert first["confidence.overall"] == "1.0"
    assert first["answer.why"] == "'-dash start"
    assert second["answer.why"] == "'@mention"
    assert first["external_id"] == "'+x-1"
    assert first["batch"] == second["batch"] == "'=de" and empty["batch"] == ""  # a batch is user text
    assert first["answer.tags"] == '["x"]'
    assert orjson.loads(first["data.responses"])[1]["content"] == "=HYPERLINK()"
    assert first["review"] == "accept" and second["review"] == ""
    assert first["annotator"] == "user1@example.org" and first["duration_ms"] == "1001"
    assert empty["item_id"] == "it-2" and empty["annotation_id"] == "" and empty["answer.overall"] == ""
    assert empty["label.overall"] == ""


def test_csv_neutralises_every_trigger() -> None:
    texts = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", "a=b"]
    records = [record(f"it-{i}", {"text": t}, []) for i, t in enumerate(texts)]
    blob = b"".join(write_csv(records, data_fields=["text"], questions=[]))
    cells = [row["data.text"] for row in csv.DictReader(io.StringIO(blob.decode(), newline=""))]
    assert cells == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "plain", "a=b"]


def test_parquet_typed_rows_readable_by_pyarrow() -> None:
    blob = b"".join(write_parquet(sample(), data_fields=["prompt", "responses"], questions=QUESTIONS))
    table = pq.read_table(io.BytesIO(blob))
    assert table.column_names == tabular_columns(data_fields=["prompt", "responses"], questions=QUESTIONS)
    assert table.schema.field("answer.overall").type == pa.int64()
    assert table.schema.field("label.helpful").type == pa.float64()
    assert table.schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    rows = table.to_pylist()
    assert [r["answer.overall"] for r in rows] == [-2, -1, None]
    assert [r["answer.why"] for r in rows] == ["-dash start", "@mention", None]  # no CSV quoting here
    assert rows[0]["answer.tags"] == '["x"]'
    assert rows[0]["created_at"].isoformat() == "2024-05-02T10:00:00+00:00"
    assert rows[2]["item_id"] == "it-2" and rows[2]["annotation_id"] is None
    assert [r["batch"] for r in rows] == ["=de", "=de", None]


def test_parquet_streams_row_groups() -> None:
    n = PARQUET_ROW_GROUP * 2 + 10

    def many() -> Iterator[dict[str, Any]]:
        for i in range(n):
            yield record(f"it-{i}", {"text": f"t{i}"}, [annotation(i, {"q": i % 5})])

    chunks = list(write_parquet(many(), data_fields=["text"], questions={"q": "rating"}))
    assert len(chunks) >= 3  # one per row group, then the footer
    parquet = pq.ParquetFile(io.BytesIO(b"".join(chunks)))
    assert parquet.metadata.num_rows == n
    assert parquet.metadata.num_row_groups == 3
    assert parquet.read(columns=["answer.q"]).column(0).to_pylist()[:6] == [0, 1, 2, 3, 4, 0]


def test_parquet_empty_export_has_the_schema() -> None:
    blob = b"".join(write_parquet([], data_fields=["text"], questions=["q"]))
    table = pq.read_table(io.BytesIO(blob))
    assert table.num_rows == 0
    assert "answer.q" in table.column_names
