"""Read answer and gold files (CSV, TSV, JSONL, Parquet) into pyarrow tables of strings.

Every column is read as text: ids such as ``007`` and labels such as ``NA`` stay what they are,
and only an empty cell counts as missing.
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

_DICT = pa.dictionary(pa.int32(), pa.string())
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def detect_format(path: Path, format: str | None) -> str:
    if format is not None:
        if format not in {"csv", "tsv", "jsonl", "parquet"}:
            raise ValueError(f"format {format!r} is not supported; use csv, tsv, jsonl or parquet")
        return format
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ValueError(
            f"{path.name}: cannot tell the format from the extension; use .csv, .tsv, .jsonl or .parquet "
            "(or pass the format)"
        )
    return found


def read_table(path: str | Path, *, format: str | None = None, dictionary: Collection[str] = ()) -> pa.Table:
    """Every column as strings; CSV/TSV columns named in ``dictionary`` come dictionary-encoded
    (int32 codes and one copy of each distinct string), which keeps millions of repeated ids small.
    """
    path = Path(path)
    kind = detect_format(path, format)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if kind in ("csv", "tsv"):
        table = _read_delimited(path, "\t" if kind == "tsv" else ",", dictionary)
    elif kind == "jsonl":
        table = _read_jsonl(path)
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    return _as_strings(table)


def _read_delimited(path: Path, delimiter: str, dictionary: Collection[str]) -> pa.Table:
    import pyarrow.csv as pacsv

    with path.open(newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh, delimiter=delimiter), None)
    if not header:
        raise ValueError(f"{path.name}: the file is empty; the first line must name the columns")
    try:
        return pacsv.read_csv(
            path,
            # One thread with small blocks: on a few cores the parallel reader is barely faster and
            # its per-thread buffers cost more memory than the answers themselves.
            read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 18),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={h: _DICT if h in dictionary else pa.string() for h in header},
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        kind = "TSV" if delimiter == "\t" else "CSV"
        raise ValueError(f"{path.name}: cannot be read as {kind}: {exc}") from None


def _read_jsonl(path: Path) -> pa.Table:
    import pyarrow.json as pajson

    try:
        return pajson.read_json(path)
    except pa.ArrowInvalid:
        pass  # mixed value types in a column: fall back to a line-by-line read that names the line
    rows = []
    with path.open("rb") as fh:
        for no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{path.name}: line {no} is not valid JSON ({exc})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path.name}: line {no} must be a JSON object with task, worker, label")
            rows.append(
                {
                    k: None if v is None else (v if isinstance(v, str) else orjson.dumps(v).decode())
                    for k, v in row.items()
                }
            )
    if not rows:
        raise ValueError(f"{path.name}: the file holds no answers")
    return pa.Table.from_pylist(rows)


def _as_strings(table: pa.Table) -> pa.Table:
    cols = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or col.type == _DICT:
            cols.append(col)
        elif pa.types.is_floating(col.type):
            col = pc.if_else(pc.is_nan(col), pa.scalar(None, col.type), col)
            # 1.0 read from a float column is the label "1", as in the CSV it came from.
            as_int = pc.cast(col, pa.int64(), safe=False)
            whole = pc.equal(pc.cast(as_int, col.type), col)
            cols.append(pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(col, pa.string())))
        else:
            cols.append(pc.cast(col, pa.string()))
    return pa.table(cols, names=table.column_names)
