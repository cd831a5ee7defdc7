"""Every reader keeps records within ``assay.limits`` and reports a bad record in its place."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay.errors import Invalid
from assay.formats import read_records
from assay.formats._depth import DepthGuard, TooDeep
from assay.limits import MAX_DEPTH


def read(blob: bytes, fmt: str, **kwargs: Any) -> list[tuple[int, Any]]:
    return list(read_records(io.BytesIO(blob), fmt=fmt, name="items.x", **kwargs))


def problems(rows: list[tuple[int, Any]]) -> list[str]:
    return [r.message for _, r in rows if isinstance(r, Invalid)]


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("fmt", "value", "words"),
    [
        ("jsonl", b'"a\\u0000b"', "data.text: holds a NUL character"),
        ("json", b'"a\\u0000b"', "data.text: holds a NUL character"),
        ("jsonl", b"9223372036854775808", "data.text: is an integer outside the signed 64-bit range"),
        ("jsonl", deep_json(MAX_DEPTH), f"nested deeper than {MAX_DEPTH} levels"),
    ],
)
def test_json_records_out_of_bounds_are_problems_in_their_place(fmt: str, value: bytes, words: str) -> None:
    good = b'{"data": {"text": "fine"}}'
    bad = b'{"data": {"text": ' + value + b"}}"
    blob = b"\n".join([good, bad, good]) if fmt == "jsonl" else b"[" + b",".join([good, bad, good]) + b"]"
    rows = read(blob, fmt)
    unit = "line" if fmt == "jsonl" else "item"
    assert [p for p, _ in rows] == [1, 2, 3]
    assert rows[0][1] == rows[2][1] == {"data": {"text": "fine"}}
    (message,) = problems(rows)
    assert message.startswith(f"items.x: {unit} 2: ")
    assert words in message


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (b"9223372036854775808", "item 2: not valid JSON (parse error: integer overflow"),
        (deep_json(MAX_DEPTH), f"item 2: nested deeper than {MAX_DEPTH} levels"),
    ],
)
def test_a_json_array_cannot_be_read_past_a_huge_integer_or_deep_nesting(value: bytes, words: str) -> None:
    blob = b'[{"data": {}}, {"data": {"text": ' + value + b'}}, {"data": {}}]'
    with pytest.raises(Invalid) as caught:
        read(blob, "json")
    assert caught.value.message.startswith(f"items.x: {words}")


def test_a_lone_surrogate_in_jsonl_is_named() -> None:
    rows = read(b'{"data": {"text": "\\udc00"}}\n{"data": {}}\n', "jsonl")
    assert "lone surrogate" in problems(rows)[0]
    assert rows[1] == (2, {"data": {}})


def test_a_jsonl_syntax_error_does_not_hide_the_lines_after_it() -> None:
    rows = read(b'{"data": {}}\n{"data": \n{"data": {}}\n[1]\n{"data": {"a": 1}}\n', "jsonl")
    assert [p for p, _ in rows] == [1, 2, 3, 4, 5]
    found = problems(rows)
    assert found[0].startswith("items.x: line 2: not valid JSON")
    assert found[1].startswith("items.x: line 4: expected a JSON object")
    assert rows[4] == (5, {"data": {"a": 1}})


def test_a_json_array_stops_at_a_syntax_error_after_reporting_what_came_before() -> None:
    stream = read_records(
        io.BytesIO(b'[{"data": {}}, 3, {"data": {}}, {"data" {}}, {"data": {}}]'), fmt="json", name=None
    )
    seen = []
    with pytest.raises(Invalid) as caught:
        for position, record in stream:
            seen.append((position, record if not isinstance(record, Invalid) else record.message))
    assert seen[0] == (1, {"data": {}}) and seen[2] == (3, {"data": {}})
    assert str(seen[1][1]).startswith("item 2: expected a JSON object")  # no file name for a body
    assert caught.value.message.startswith("item 4: not valid JSON")


@pytest.mark.timeout(60)  # a hang guard: ijson alone would take minutes and gigabytes over this
def test_a_deeply_nested_json_array_is_refused_before_the_parser_builds_it() -> None:
    blob = b'[{"data": {"text": "ok"}}, {"data": {"x": ' + deep_json(200_000) + b"}}]"  # 400 KB
    with pytest.raises(Invalid) as caught:
        read(blob, "json")
    assert caught.value.message == f"items.x: item 2: nested deeper than {MAX_DEPTH} levels"


def test_exactly_the_bound_passes_the_array_guard() -> None:
    # The record's own object is level 1 and the data object level 2: 62 more fit.
    inner = deep_json(MAX_DEPTH - 2)
    rows = read(b'[{"data": {"x": ' + inner + b"}}]", "json")
    assert not problems(rows)
    with pytest.raises(Invalid):
        read(b'[{"data": {"x": ' + deep_json(MAX_DEPTH - 1) + b"}}]", "json")


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000])
def test_the_depth_guard_counts_across_chunks_and_skips_strings(size: int) -> None:
    tricky = '[{"a": "[[[[\\\\"}, {"b": "\\"[{[{\\\\\\"[["}, {"c": "x\\\\\\\\"}, ' + "[" * 70 + "]" * 70 + "]"
    assert orjson.loads(tricky)  # valid JSON whose strings hold brackets, quotes and backslashes

    class Chunks(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            return super().read(size)

    guard = DepthGuard(Chunks(tricky.encode()), limit=MAX_DEPTH + 1)
    with pytest.raises(TooDeep) as caught:
        while guard.read(size):
            pass
    assert caught.value.item == 4
    shallow = DepthGuard(
        Chunks(tricky.replace("[" * 70, "[" * 3).replace("]" * 70, "]" * 3).encode()), limit=6
    )
    while shallow.read(size):
        pass


def test_csv_reports_every_bad_row_and_reads_the_rest() -> None:
    blob = (
        b"text,responses\n"
        b"a,[]\n"
        b"b,[1\n"  # bad JSON cell
        b"c,[],extra\n"  # too many fields
        b"\xff,[]\n"  # not UTF-8
        b'd,"[""\\u0000""]"\n'  # NUL inside the JSON cell
        b"e,[]\n"
    )
    rows = read(blob, "csv", json_fields=frozenset({"responses"}), columns=frozenset({"text", "responses"}))
    found = problems(rows)
    assert [m.split(":")[1].strip() for m in found] == ["line 3", "line 4", "line 5", "line 6"]
    assert "data.responses[0]: holds a NUL character" in found[3]
    assert rows[-1] == (7, {"data": {"text": "e", "responses": []}})


def test_an_empty_csv_cell_is_left_out_so_a_required_input_is_missing() -> None:
    rows = read(b"text,note\n,x\n", "csv", columns=frozenset({"text", "note"}))
    assert rows == [(2, {"data": {"note": "x"}})]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_column_that_is_not_an_input_is_a_problem_with_a_guess(fmt: str) -> None:
    if fmt == "csv":
        blob = b"txt,annotator,text\na,b,c\n"
    else:
        sink = io.BytesIO()
        pq.write_table(pa.table({"txt": ["a"], "annotator": ["b"], "text": ["c"]}), sink)
        blob = sink.getvalue()
    rows = read(blob, fmt, columns=frozenset({"text"}))
    found = problems(rows)
    assert len(found) == 2
    assert "column 'txt' is not an input of the project (text)" in found[0]
    assert "did you mean 'text'?" in found[0]
    assert "column 'annotator'" in found[1] and "did you mean" not in found[1]
    assert rows[-1][1] == {"data": {"text": "c"}}  # the rows are still read, without those columns


def test_parquet_values_out_of_bounds_are_named_by_row_and_path() -> None:
    table = pa.table(
        {
            "text": ["fine", "a\x00b", "fine"],
            "score": [1.0, 2.0, float("nan")],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    rows = read(sink.getvalue(), "parquet")
    found = problems(rows)
    assert found[0] == "items.x: row 2: data.text: holds a NUL character (U+0000), which cannot be stored"
    assert found[1].startswith("items.x: row 3: data.score: is nan")


def test_parquet_nested_columns_are_bounded() -> None:
    value: Any = {"leaf": 1}
    for _ in range(MAX_DEPTH):
        value = {"k": value}
    sink = io.BytesIO()
    pq.write_table(pa.table({"meta": [value]}), sink)
    rows = read(sink.getvalue(), "parquet")
    assert f"nested deeper than {MAX_DEPTH} levels" in problems(rows)[0]


@pytest.mark.parametrize("size", [1, 5, 13, 64, 1 << 16])
@pytest.mark.parametrize(
    ("text", "item"),
    [
        (b'"\\ud800"', 2),  # yajl would make it "?"
        (b'"\\udc00 then more"', 2),
        (b'"\\ud800\\ud800"', 2),  # yajl would pair two high ones into U+10000
    ],
)
def test_a_lone_surrogate_in_a_json_array_is_refused(text: bytes, item: int, size: int) -> None:
    blob = b'[{"data": {"text": "a"}}, {"data": {"text": ' + text + b'}}, {"data": {"text": "b"}}]'

    class Chunks(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            return super().read(size if n is None or n < 0 else min(n, size))

    with pytest.raises(Invalid) as caught:
        list(read_records(Chunks(blob), fmt="json", name="items.x"))
    assert caught.value.message.startswith(f"items.x: item {item}: holds a lone surrogate (U+D")


def test_surrogate_pairs_and_backslash_text_in_a_json_array_are_fine() -> None:
    blob = b'[{"data": {"text": "\\ud83d\\ude00 and \\\\ud800 as text"}}]'
    assert read(blob, "json") == [(1, {"data": {"text": "😀 and \\ud800 as text"}})]
