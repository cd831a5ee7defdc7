"""Item readers: every format, the positions they report and every error message."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay.errors import Invalid
from assay.formats import detect_format, iter_records


def read(blob: bytes, fmt: str, **kwargs: Any) -> list[tuple[int, dict[str, Any]]]:
    return list(iter_records(io.BytesIO(blob), fmt=fmt, name="items.x", **kwargs))


def error(blob: bytes, fmt: str, **kwargs: Any) -> Invalid:
    with pytest.raises(Invalid) as info:
        read(blob, fmt, **kwargs)
    return info.value


@pytest.mark.parametrize(
    ("filename", "content_type", "expected"),
    [
        ("items.jsonl", None, "jsonl"),
        ("ITEMS.NDJSON", None, "jsonl"),
        ("items.json", "application/octet-stream", "json"),
        ("items.csv", None, "csv"),
        ("items.parquet", None, "parquet"),
        (None, "application/x-ndjson; charset=utf-8", "jsonl"),
        (None, "application/json", "json"),
        (None, "text/csv", "csv"),
        ("upload.bin", "application/vnd.apache.parquet", "parquet"),
    ],
)
def test_detect_format(filename: str | None, content_type: str | None, expected: str) -> None:
    assert detect_format(filename=filename, content_type=content_type) == expected


def test_detect_format_unknown_names_the_file() -> None:
    with pytest.raises(Invalid, match=r"^items\.txt: unknown file format \(content type 'text/plain'\)"):
        detect_format(filename="items.txt", content_type="text/plain")


def test_unknown_format_name() -> None:
    assert "unknown format 'xml'" in error(b"", "xml").message


# --- JSONL -----------------------------------------------------------------------------------------


def test_jsonl_round_trip_with_bom_crlf_and_blank_lines() -> None:
    records = [{"data": {"text": f"t{i}"}, "external_id": f"x-{i}", "priority": i} for i in range(3)]
    lines = [orjson.dumps(r) for r in records]
    blob = b"\xef\xbb\xbf" + lines[0] + b"\r\n\r\n" + lines[1] + b"\r\n   \n" + lines[2]
    assert read(blob, "jsonl") == [(1, records[0]), (3, records[1]), (5, records[2])]


def test_jsonl_line_longer_than_a_read_chunk() -> None:
    long = {"data": {"text": "x" * (3 << 20)}}
    blob = b'{"data": {}}\n' + orjson.dumps(long) + b"\n" + b'{"data": {"a": 1}}'
    assert read(blob, "jsonl") == [(1, {"data": {}}), (2, long), (3, {"data": {"a": 1}})]


def test_jsonl_invalid_line_names_line_and_reason() -> None:
    exc = error(b'{"data": {}}\n\n{"data": {"a" 1}}\n', "jsonl")
    assert exc.message == (
        "items.x: line 3: not valid JSON at column 15 (unexpected character, expected ':' after key); "
        "write one JSON object per line"
    )
    assert exc.errors[0]["loc"] == "line 3"


def test_jsonl_non_object_line() -> None:
    assert error(b'{"data": {}}\n[1, 2]\n', "jsonl").message.startswith(
        "items.x: line 2: expected a JSON object like"
    )


def test_jsonl_invalid_utf8_names_line() -> None:
    assert error(b'{"data": {}}\n{"data": "\xff"}\n', "jsonl").message.startswith(
        "items.x: line 2: not valid JSON"
    )


# --- JSON array ------------------------------------------------------------------------------------


def test_json_array_round_trip() -> None:
    records = [{"data": {"text": "a", "score": 1.5}}, {"data": {"text": "b"}, "gold": {"q": -2}}]
    assert read(b"\xef\xbb\xbf \n" + orjson.dumps(records), "json") == [(1, records[0]), (2, records[1])]


def test_json_empty_array() -> None:
    assert read(b"[]", "json") == []


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        (
            b'[{"data": {}}, {"data" {}}]',
            "items.x: item 2: not valid JSON (parse error: object key and value",
        ),
        (b'[{"data": {}}', "items.x: item 2: not valid JSON (parse error: premature EOF"),
        (b'[{"data": {}}] trailing', "items.x: item 2: not valid JSON (parse error: trailing garbage"),
        (b'{"data": {}}', "items.x: item 1: the top-level value is not an array"),
        (b"  ", "items.x: item 1: the file is empty"),
        (b'[{"data": {}}, 3]', "items.x: item 2: expected a JSON object like"),
    ],
)
def test_json_errors_name_the_item(blob: bytes, expected: str) -> None:
    assert error(blob, "json").message.startswith(expected)


# --- CSV -------------------------------------------------------------------------------------------


def test_csv_rows_become_item_records() -> None:
    blob = (
        "\ufeffexternal_id,prompt,responses,priority,meta\r\n"
        'x-1,"two\r\nlines","[{""id"": ""a"", ""content"": ""A""}]",3,"{""src"": ""web""}"\r\n'
        "\r\n"
        "x-2,=1+1,,,\r\n"
    ).encode()
    rows = read(blob, "csv", json_fields=frozenset({"responses"}))
    assert rows == [
        (
            2,
            {
                "data": {"prompt": "two\r\nlines", "responses": [{"id": "a", "content": "A"}]},
                "external_id": "x-1",
                "priority": 3,
                "meta": {"src": "web"},
            },
        ),
        (5, {"data": {"prompt": "=1+1"}, "external_id": "x-2"}),
    ]


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        (b"", "items.x: line 1: the file is empty; a header row naming the columns is required"),
        (b"text,,x\n", "items.x: line 1: header column 2 has no name; name every column"),
        (b"text,text\n", "items.x: line 1: header column 'text' appears twice; names must be unique"),
        (
            b'text,label\na,b\n"multi\nline",c,d\n',
            "items.x: line 3: expected 2 fields as in the header, found 3; quote fields that contain commas",
        ),
        (
            b"text,priority\na,1\nb,high\n",
            "items.x: line 3: column 'priority' must be an integer, got 'high'",
        ),
        (
            b"text,responses\na,[1]\nb,[1\n",
            "items.x: line 3: column 'responses' must hold JSON (unexpected end of data at character 3)",
        ),
        (b"text,meta\na,{x}\n", "items.x: line 2: column 'meta' must hold JSON"),
        (
            b"text\na\n\xe9t\xe9\n",
            "items.x: line 3: not UTF-8 text (byte 0xe9 at column 1); save the file as UTF-8",
        ),
        (b'text,b\n"open,1\n', "items.x: line 2: cannot read CSV"),
    ],
)
def test_csv_errors_name_line_and_column(blob: bytes, expected: str) -> None:
    assert error(blob, "csv", json_fields=frozenset({"responses"})).message.startswith(expected)


# --- Parquet ---------------------------------------------------------------------------------------


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_parquet_flat_columns() -> None:
    table = pa.table(
        {
            "external_id": ["a", None],
            "text": ["hello", "world"],
            "responses": ['[{"id": "r1", "content": "x"}]', None],
            "priority": [1, None],
            "meta": ['{"k": 1}', None],
        }
    )
    assert read(parquet_bytes(table), "parquet", json_fields=frozenset({"responses"})) == [
        (
            1,
            {
                "data": {"text": "hello", "responses": [{"id": "r1", "content": "x"}]},
                "external_id": "a",
                "priority": 1,
                "meta": {"k": 1},
            },
        ),
        (2, {"data": {"text": "world"}}),
    ]


def test_parquet_data_column_struct_and_json_string() -> None:
    struct = pa.table({"data": [{"text": "a"}, {"text": "b"}], "gold": [{"q": 1}, None]})
    assert read(parquet_bytes(struct), "parquet") == [
        (1, {"data": {"text": "a"}, "gold": {"q": 1}}),
        (2, {"data": {"text": "b"}}),
    ]
    text = pa.table({"data": ['{"text": "a"}', "{oops"]})
    with pytest.raises(Invalid, match=r"^items\.x: row 2: column 'data' must hold JSON"):
        read(parquet_bytes(text), "parquet")


def test_parquet_many_batches_and_json_unfriendly_types() -> None:
    import datetime as dt

    n = 10_000
    table = pa.table({"n": list(range(n)), "day": [dt.date(2024, 1, 1)] * n})
    rows = read(parquet_bytes(table), "parquet")
    assert [p for p, _ in rows] == list(range(1, n + 1))
    assert rows[-1][1] == {"data": {"n": n - 1, "day": "2024-01-01"}}


def test_parquet_errors() -> None:
    assert error(b"text\nnot parquet\n", "parquet").message.startswith("items.x: row 1: not a Parquet file")
    beside = pa.table({"data": ['{"a": 1}'], "extra": [1]})
    assert error(parquet_bytes(beside), "parquet").message.startswith(
        "items.x: header: column 'extra' sits beside a 'data' column"
    )
    bad_priority = pa.table({"text": ["a", "b"], "priority": ["1", "soon"]})
    assert error(parquet_bytes(bad_priority), "parquet").message == (
        "items.x: row 2: column 'priority' must be an integer, got 'soon'"
    )
