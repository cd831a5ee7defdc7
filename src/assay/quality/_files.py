"""Read answer and gold files (CSV, TSV, JSONL, Parquet) into pyarrow tables of strings.

Every column is read as text: ids such as ``007`` and labels such as ``NA`` stay what they are,
and only an empty cell counts as missing.  ``read_answers`` reads the three answer columns under
their own names or a mapping, or an assay export (one row per annotation) for one question.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from assay.quality._arrow import strings

_DICT = pa.dictionary(pa.int32(), pa.string())
ANSWER_COLUMNS = ("task", "worker", "label")
# An assay export (csv, parquet: one row per annotation; jsonl: one line per item) read as answers:
# task = the item, worker = the annotator, label = the answer to the chosen question.
EXPORT_TASK, EXPORT_WORKER, EXPORT_REVIEW = "item_id", "annotator", "review"
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


def read_answers(
    path: str | Path,
    *,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
    question: str | None = None,
    extra: Sequence[str] = (),
) -> pa.Table:
    """The answers of a file as a table with the columns ``task``, ``worker``, ``label`` (then
    ``extra``), as text; only the columns needed are read.

    ``columns`` maps ``task``/``worker``/``label`` to the file's column names.  ``question`` reads
    an assay export instead: task = ``item_id``, worker = ``annotator``, label = the answer to
    ``question``; annotations without that answer and rejected ones (no vote in assay) are left
    out, and the CSV export's formula guards are taken off again.
    """
    path = Path(path)
    kind = detect_format(path, format)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if question is not None:
        if columns or extra:
            raise ValueError(
                "a question reads an assay export, whose columns are fixed; drop the column mapping"
            )
        table = _read_export(path, kind, question)
    else:
        names = {key: (columns or {}).get(key, key) for key in ANSWER_COLUMNS}
        wanted = [names[key] for key in ANSWER_COLUMNS] + [c for c in extra if c not in names.values()]
        # The answer columns come dictionary-encoded: codes without a string per answer.
        table = _read_columns(path, kind, wanted, dictionary=[names[key] for key in ANSWER_COLUMNS])
        renamed = {names[key]: key for key in ANSWER_COLUMNS}
        table = table.rename_columns([renamed.get(c, c) for c in table.column_names])
    return _as_strings(table)


def _read_columns(path: Path, kind: str, wanted: Sequence[str], *, dictionary: Collection[str]) -> pa.Table:
    """Just the ``wanted`` columns, in that order; a missing one names the file's columns."""
    if kind in ("csv", "tsv"):
        delimiter = "\t" if kind == "tsv" else ","
        _require(path, _header(path, delimiter), wanted)
        return _read_delimited(path, delimiter, dictionary, include=wanted)
    if kind == "parquet":
        import pyarrow.parquet as pq

        _require(path, pq.read_schema(path).names, wanted)
        return pq.read_table(path, columns=list(wanted))
    table = _read_jsonl(path)
    _require(path, table.column_names, wanted)
    return table.select(list(wanted))


def _require(path: Path, present: Sequence[str], wanted: Sequence[str]) -> None:
    for name in wanted:
        if name not in present:
            hint = "rename or add it"
            if EXPORT_TASK in present and EXPORT_WORKER in present:
                questions = [c.removeprefix("answer.") for c in present if c.startswith("answer.")]
                hint = "this looks like an assay export: choose the question to aggregate (--question" + (
                    f"; one of {', '.join(questions)})" if questions else ")"
                )
            raise ValueError(f"{path.name}: missing column '{name}' (columns are {list(present)}); {hint}")


def _header(path: Path, delimiter: str) -> list[str]:
    """The column names: the first line, read by Python's csv (the rows go to pyarrow's reader).

    Not pyarrow's streaming reader: that costs about 10 MB of memory for one line.
    """
    import csv

    with path.open(newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh, delimiter=delimiter), None)
    if not header:
        raise ValueError(f"{path.name}: the file is empty; the first line must name the columns")
    return header


def _read_export(path: Path, kind: str, question: str) -> pa.Table:
    if kind == "jsonl":
        return _read_export_jsonl(path, question)
    label = f"answer.{question}"
    present = _header(path, "\t" if kind == "tsv" else ",") if kind != "parquet" else _parquet_names(path)
    if EXPORT_TASK not in present or EXPORT_WORKER not in present:
        raise ValueError(
            f"{path.name}: not an assay export (it needs the columns {EXPORT_TASK}, {EXPORT_WORKER} and "
            f"answer.<question>; its columns are {present}); without a question, name the answer columns"
        )
    if label not in present:
        questions = [c.removeprefix("answer.") for c in present if c.startswith("answer.")]
        raise ValueError(
            f"{path.name}: no question {question!r} in this export (its questions: {', '.join(questions) or 'none'})"
        )
    wanted = [EXPORT_TASK, EXPORT_WORKER, label] + ([EXPORT_REVIEW] if EXPORT_REVIEW in present else [])
    table = _read_columns(path, kind, wanted, dictionary=())
    keep = pc.and_(pc.is_valid(table.column(label)), pc.is_valid(table.column(EXPORT_WORKER)))
    if EXPORT_REVIEW in table.column_names:
        rejected = pc.fill_null(pc.equal(table.column(EXPORT_REVIEW), "reject"), False)
        keep = pc.and_(keep, pc.invert(rejected))
    table = table.filter(keep)
    table = pa.table(
        {
            "task": table.column(EXPORT_TASK),
            "worker": table.column(EXPORT_WORKER),
            "label": table.column(label),
        }
    )
    if kind in ("csv", "tsv"):
        table = pa.table({name: _unguard(table.column(name)) for name in table.column_names})
    if table.num_rows == 0:
        raise ValueError(f"{path.name}: no answers to {question!r} (rejected answers do not count)")
    return table


def _parquet_names(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def _unguard(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Take off the ``'`` the CSV export puts before a cell a spreadsheet would run as a formula."""
    if not pa.types.is_string(column.type):
        return column
    guarded = pc.starts_with(column, "'")
    if not pc.any(guarded).as_py():
        return column
    from assay.formats._common import is_formula  # the export's own rule, so the two stay one

    values = column.to_pylist()
    return pa.chunked_array(
        [strings([v[1:] if v is not None and v.startswith("'") and is_formula(v[1:]) else v for v in values])]
    )


def _read_export_jsonl(path: Path, question: str) -> pa.Table:
    tasks: list[str] = []
    workers: list[str] = []
    labels: list[str] = []
    with path.open("rb") as fh:
        for no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{path.name}: line {no} is not valid JSON ({exc})") from None
            if not isinstance(record, dict) or EXPORT_TASK not in record or "annotations" not in record:
                raise ValueError(
                    f"{path.name}: line {no} is not an item of an assay export (item_id, annotations); "
                    "without a question, give task, worker, label"
                )
            for annotation in record["annotations"] or ():
                value = (annotation.get("answers") or {}).get(question)
                if value is None or annotation.get(EXPORT_REVIEW) == "reject":
                    continue
                tasks.append(str(record[EXPORT_TASK]))
                workers.append(str(annotation.get(EXPORT_WORKER)))
                labels.append(value if isinstance(value, str) else orjson.dumps(value).decode())
    if not tasks:
        raise ValueError(f"{path.name}: no answers to {question!r} (rejected answers do not count)")
    return pa.table({"task": strings(tasks), "worker": strings(workers), "label": strings(labels)})


def _read_delimited(
    path: Path, delimiter: str, dictionary: Collection[str], *, include: Sequence[str] | None = None
) -> pa.Table:
    import pyarrow.csv as pacsv

    header = include if include is not None else _header(path, delimiter)
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
                include_columns=list(header) if include is not None else None,
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
