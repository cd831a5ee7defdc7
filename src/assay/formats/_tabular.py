"""CSV and Parquet item readers: columns become an item record.

Column rules (both formats): ``external_id``, ``batch`` and ``priority`` (an integer) go to the
top level of the record, as do ``meta`` and ``gold`` (JSON objects; in CSV a JSON string); every
other column is a field of ``data``, and must be one of the project's inputs when the import names
them (``columns``): a column of another name means a file of another shape (a Label Studio or
Argilla export, one row per annotation), which would otherwise be imported wrongly.  Columns named
in ``json_fields`` hold JSON text (``chat`` and ``responses`` inputs cannot be plain strings) and
are parsed.  A Parquet file with a ``data`` column (a struct, or a JSON string) uses it as the
payload, and then only the reserved columns may sit beside it.

Empty cells: an empty CSV cell is left out, so the import's schema check reports a required input
as missing, as it does for a JSON record without it (CSV cannot tell an empty text from none).
Problems with one row are yielded in its place (see ``readers``); a header problem is yielded at
the header's position and the column is ignored, so the rows are still checked.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import difflib
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from assay.errors import Invalid
from assay.formats._lines import BOM, iter_lines
from assay.formats._problems import checked, problem
from assay.limits import json_syntax, problem_in_text

RESERVED = frozenset({"external_id", "priority", "meta", "gold", "batch"})
_JSON_RESERVED = frozenset({"meta", "gold"})
# Long documents in a single cell are normal for annotation data; the csv module's default cap
# (128 KiB) would reject them.
_CSV_FIELD_LIMIT = 1 << 28
_PARQUET_BATCH = 4096


Row = dict[str, Any] | Invalid


class _Bad(Exception):
    """A problem with one cell: the row is reported in its place."""

    def __init__(self, problem: Invalid) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _invalid(name: str | None, where: str, msg: str, **extra: Any) -> _Bad:
    return _Bad(problem(name, where, msg, **extra))


def _unknown_columns(
    header: list[str], *, columns: frozenset[str] | None, name: str | None, where: str
) -> list[Invalid]:
    """One problem per column that is neither reserved nor one of ``columns``, with a did-you-mean."""
    if columns is None:
        return []
    out = []
    known = sorted(columns | RESERVED)
    for column in header:
        if column in RESERVED or column in columns:
            continue
        guess = difflib.get_close_matches(column, known, n=1)
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        inputs = ", ".join(sorted(columns)) or "none"
        out.append(
            problem(
                name,
                where,
                f"column {column!r} is not an input of the project ({inputs}) nor one of "
                f"{', '.join(sorted(RESERVED))}; {hint}remove or rename it",
                column=column,
            )
        )
    return out


def _parse_priority(raw: Any, *, name: str | None, where: str) -> int:
    if isinstance(raw, bool):
        raise _invalid(name, where, "column 'priority' must be an integer, got a boolean", column="priority")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    try:
        return int(str(raw).strip())
    except ValueError:
        raise _invalid(
            name, where, f"column 'priority' must be an integer, got {raw!r}", column="priority"
        ) from None


def _parse_json_cell(raw: str, *, name: str | None, where: str, column: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _invalid(
            name,
            where,
            f"column {column!r} must hold JSON ({json_syntax(exc)} at character {exc.pos + 1})",
            column=column,
        ) from None


def _check_header(header: list[str], *, name: str | None, where: str) -> None:
    seen: set[str] = set()
    for index, column in enumerate(header, start=1):
        if not column.strip():
            raise problem(name, where, f"header column {index} has no name; name every column")
        if column in seen:
            raise problem(name, where, f"header column {column!r} appears twice; names must be unique")
        problem_text = problem_in_text(column)
        if problem_text is not None:
            raise problem(name, where, f"header column {index} {problem_text}")
        seen.add(column)


def iter_csv(
    source: BinaryIO, *, name: str | None, json_fields: frozenset[str], columns: frozenset[str] | None
) -> Iterator[tuple[int, Row]]:
    """Rows of a UTF-8 CSV (BOM tolerated) as item records; position = the row's first line."""
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    bad_lines: dict[int, Invalid] = {}
    reader = csv.reader(_text_lines(source, name=name, bad_lines=bad_lines), strict=True)
    last_line = 0
    header: list[str] | None = None
    plan: list[tuple[str, int]] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line, last_line = last_line + 1, reader.line_num
            yield line, problem(name, f"line {line}", f"cannot read CSV ({exc})")
            continue
        line, last_line = last_line + 1, reader.line_num
        if bad_lines:  # a line of this row was not UTF-8: that is the problem to report
            first = min(bad_lines)
            if header is None:  # without the header's names no row can be read
                raise bad_lines[first]
            yield first, bad_lines[first]
            bad_lines.clear()
            continue
        if not row:  # a blank line
            continue
        if header is None:
            _check_header(row, name=name, where=f"line {line}")
            header = row
            unknown = _unknown_columns(row, columns=columns, name=name, where=f"line {line}")
            for found in unknown:
                yield line, found
            skip = {str(p.errors[0]["column"]) for p in unknown}
            # How each column is handled, decided once: 0 plain data, 1 JSON data, 2 reserved, 3 ignored.
            plan = [
                (col, 3 if col in skip else 2 if col in RESERVED else 1 if col in json_fields else 0)
                for col in header
            ]
            continue
        where = f"line {line}"
        if len(row) != len(header):
            yield (
                line,
                problem(
                    name,
                    where,
                    f"expected {len(header)} fields as in the header, found {len(row)}; "
                    "quote fields that contain commas or line breaks",
                ),
            )
            continue
        try:
            record = _csv_record(row, plan, name=name, where=where)
        except _Bad as exc:
            yield line, exc.problem
            continue
        yield line, checked(record, name=name, where=where)
    if header is None:
        if bad_lines:
            raise bad_lines[min(bad_lines)]
        raise problem(name, "line 1", "the file is empty; a header row naming the columns is required")


def _text_lines(source: BinaryIO, *, name: str | None, bad_lines: dict[int, Invalid]) -> Iterator[str]:
    # Decoding line by line (rather than through io.TextIOWrapper, which decodes 8 KiB blocks)
    # lets a bad byte be reported at its real line and column; the line is passed on decoded with
    # replacements so that the rows after it are still read.
    for number, raw in enumerate(iter_lines(source), start=1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8") + "\n"
        except UnicodeDecodeError as exc:
            bad_lines[number] = problem(
                name,
                f"line {number}",
                f"not UTF-8 text (byte {raw[exc.start]:#04x} at column {exc.start + 1}); "
                "save the file as UTF-8",
            )
            yield raw.decode("utf-8", errors="replace") + "\n"


def _csv_record(
    row: list[str], plan: list[tuple[str, int]], *, name: str | None, where: str
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    record: dict[str, Any] = {"data": data}
    for (column, how), cell in zip(plan, row, strict=True):
        if how == 0:
            if cell:
                data[column] = cell
        elif how == 3 or not cell.strip():
            continue
        elif how == 1:
            data[column] = _parse_json_cell(cell, name=name, where=where, column=column)
        elif column == "priority":
            record["priority"] = _parse_priority(cell, name=name, where=where)
        elif column in ("external_id", "batch"):
            record[column] = cell
        else:
            record[column] = _parse_json_cell(cell, name=name, where=where, column=column)
    return record


def _needs_conversion(type_: pa.DataType) -> bool:
    """Whether values of this Arrow type come out of ``to_pylist`` as something JSON cannot hold."""
    if pa.types.is_temporal(type_) or pa.types.is_decimal(type_) or pa.types.is_binary(type_):
        return True
    if pa.types.is_large_binary(type_) or pa.types.is_fixed_size_binary(type_) or pa.types.is_map(type_):
        return True
    if pa.types.is_struct(type_):
        return any(_needs_conversion(type_.field(i).type) for i in range(type_.num_fields))
    if pa.types.is_list(type_) or pa.types.is_large_list(type_) or pa.types.is_fixed_size_list(type_):
        return _needs_conversion(type_.value_type)
    return False


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and isinstance(value[0], tuple):  # a map column: list of (key, value) pairs
            return {str(k): _jsonable(v) for k, v in value}
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def iter_parquet(
    source: BinaryIO, *, name: str | None, json_fields: frozenset[str], columns: frozenset[str] | None
) -> Iterator[tuple[int, Row]]:
    """Rows of a Parquet file as item records, read one batch at a time; position = 1-based row."""
    try:
        parquet = pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise problem(name, "row 1", f"not a Parquet file ({exc})") from None
    schema = parquet.schema_arrow
    names = list(schema.names)
    _check_header(names, name=name, where="header")
    has_data = "data" in names
    skip: set[str] = set()
    if has_data:
        for column in names:
            if column != "data" and column not in RESERVED:
                skip.add(column)
                yield (
                    0,
                    problem(
                        name,
                        "header",
                        f"column {column!r} sits beside a 'data' column; only external_id, priority, "
                        "meta, gold and batch may (or drop 'data' and give one column per field)",
                        column=column,
                    ),
                )
    else:
        for found in _unknown_columns(names, columns=columns, name=name, where="header"):
            skip.add(str(found.errors[0]["column"]))
            yield 0, found
    read = [c for c in names if c not in skip]
    convert = {c for c in read if _needs_conversion(schema.field(c).type)}
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH, columns=read):
            for values in batch.to_pylist():
                row += 1
                if convert:
                    for column in convert:
                        values[column] = _jsonable(values[column])
                where = f"row {row}"
                try:
                    record = _parquet_record(
                        values, has_data=has_data, json_fields=json_fields, name=name, where=where
                    )
                except _Bad as exc:
                    yield row, exc.problem
                    continue
                yield row, checked(record, name=name, where=where)
    except (pa.ArrowException, OSError) as exc:
        raise problem(name, f"row {row + 1}", f"cannot read Parquet ({exc})") from None


def _parquet_record(
    values: dict[str, Any], *, has_data: bool, json_fields: frozenset[str], name: str | None, where: str
) -> dict[str, Any]:
    record: dict[str, Any] = {}
    data: dict[str, Any] = {}
    for column, value in values.items():
        if value is None:
            continue
        if column == "priority":
            record["priority"] = _parse_priority(value, name=name, where=where)
        elif column == "external_id":
            record["external_id"] = str(value)
        elif column == "batch":
            record["batch"] = value  # checked by the import, which names the row
        elif column in _JSON_RESERVED or (has_data and column == "data"):
            if isinstance(value, str):
                value = _parse_json_cell(value, name=name, where=where, column=column)
            record[column] = value
        elif column in json_fields and isinstance(value, str):
            data[column] = _parse_json_cell(value, name=name, where=where, column=column)
        else:
            data[column] = value
    if not has_data:
        record["data"] = data
    else:
        record.setdefault("data", None)
    return {"data": record.pop("data"), **record}
