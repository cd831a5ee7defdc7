"""Export writers: jsonl, csv and parquet, streamed in chunks."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from format_records import annotation, record
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.formats import tabular_columns, write_csv, write_jsonl, write_parquet
from assay.formats._common import safe_cell
from assay.formats.writers import PARQUET_ROW_GROUP

PAIR = {
    "prompt": "Say hi",
    "responses": [{"id": "a", "content": "hi"}, {"id": "b", "content": "=HYPERLINK()"}],
}
QUESTIONS = {"overall": "preference", "helpful": "rating", "why": "text", "tags": "multi_choice"}


def sample() -> list[dict[str, Any]]:
    return [
        record(
            1,
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
        record(2, {"prompt": "No answers yet", "responses": []}, []),
    ]


def test_jsonl_round_trip() -> None:
    records = sample()
    blob = b"".join(write_jsonl(iter(records)))
    assert [orjson.loads(line) for line in blob.splitlines()] == records


def test_jsonl_streams_in_bounded_chunks() -> None:
    def many() -> Iterator[dict[str, Any]]:
        for i in range(5000):
            yield record(i, {"text": "x" * 100}, [])

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
    assert empty["item_id"] == "2" and empty["annotation_id"] == "" and empty["answer.overall"] == ""
    assert empty["label.overall"] == ""


def _csv_cells(texts: list[str]) -> list[str]:
    records = [record(i, {"text": t}, []) for i, t in enumerate(texts)]
    blob = b"".join(write_csv(records, data_fields=["text"], questions=[]))
    return [row["data.text"] for row in csv.DictReader(io.StringIO(blob.decode(), newline=""))]


def test_csv_neutralises_every_trigger() -> None:
    texts = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", "a=b"]
    assert _csv_cells(texts) == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "plain", "a=b"]


def test_csv_neutralises_triggers_after_blanks_and_in_full_width() -> None:
    texts = [" =1+1", "\n=1+1", "  \n @SUM(A1)", "＝1+1", "＋1", "－1", "＠SUM(A1)", "\u3000=1", "\u200b=1"]
    assert _csv_cells(texts) == ["'" + t for t in texts]
    assert _csv_cells([" plain", "１=1", "a＝b"]) == [" plain", "１=1", "a＝b"]


# What may precede a formula: blanks a spreadsheet skips or does not show.
_BLANKS = st.text(
    alphabet=st.sampled_from([" ", "\n", "\t", "\r", "\x0b", "\x0c", "\u00a0", "\u2002", "\u3000", "\u2028",
                              "\u200b", "\u2060", "\ufeff", "\u200e", "\x00"]),
    max_size=6,
)  # fmt: skip
# A formula's first character, in its ASCII, full-width and small forms.
_TRIGGERS = st.sampled_from(list("=+-@＝＋－＠﹦﹢﹣﹫\u2212"))


@settings(max_examples=300, deadline=None)
@given(blanks=_BLANKS, trigger=_TRIGGERS, rest=st.text(max_size=20))
def test_no_formula_survives_whatever_precedes_it(blanks: str, trigger: str, rest: str) -> None:
    text = blanks + trigger + rest
    assert safe_cell(text) == "'" + text
    # And through the CSV writer and a reader, the cell is the guarded text, exactly.
    assert _csv_cells([text]) == ["'" + text]


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30))
def test_a_guarded_cell_is_a_formula_only_by_its_guard(text: str) -> None:
    cell = safe_cell(text)
    assert cell in (text, "'" + text)
    visible = text.lstrip(
        "".join(c for c in set(text) if c.isspace() or unicodedata.category(c) in ("Cc", "Cf"))
    )
    first = unicodedata.normalize("NFKC", visible[:1])[:1]
    if (first and first in "=+-@") or text[:1] in ("\t", "\r"):
        assert cell == "'" + text


def test_parquet_typed_rows_readable_by_pyarrow() -> None:
    blob = b"".join(write_parquet(sample(), data_fields=["prompt", "responses"], questions=QUESTIONS))
    table = pq.read_table(io.BytesIO(blob))
    assert table.column_names == tabular_columns(data_fields=["prompt", "responses"], questions=QUESTIONS)
    assert table.schema.field("answer.overall").type == pa.int64()
    assert table.schema.field("label.helpful").type == pa.float64()
    assert table.schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    for ids in ("item_id", "annotation_id", "assignment_id"):
        assert table.schema.field(ids).type == pa.int64(), ids  # integers, as in JSONL and CSV
    rows = table.to_pylist()
    assert [r["answer.overall"] for r in rows] == [-2, -1, None]
    assert [r["answer.why"] for r in rows] == ["-dash start", "@mention", None]  # no CSV quoting here
    assert rows[0]["answer.tags"] == '["x"]'
    assert rows[0]["created_at"].isoformat() == "2024-05-02T10:00:00+00:00"
    assert rows[2]["item_id"] == 2 and rows[2]["annotation_id"] is None
    assert [r["annotation_id"] for r in rows[:2]] == [101, 102]
    assert [r["assignment_id"] for r in rows[:2]] == [201, 202]
    assert [r["batch"] for r in rows] == ["=de", "=de", None]


def test_parquet_streams_row_groups() -> None:
    n = PARQUET_ROW_GROUP * 2 + 10

    def many() -> Iterator[dict[str, Any]]:
        for i in range(n):
            yield record(i, {"text": f"t{i}"}, [annotation(i, {"q": i % 5})])

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
