"""CSV and Parquet item readers: columns become an item record.

Column rules (both formats): ``external_id``, ``batch`` and ``priority`` (an integer) go to the
top level of the record, as do ``meta`` and ``gold`` (JSON objects; in CSV a JSON string); every
other column is a field of ``data``.  Columns named in ``json_fields`` hold JSON text (``chat`` and ``responses``
inputs cannot be plain strings) and are parsed.  A Parquet file with a ``data`` column (a struct,
or a JSON string) uses it as the payload, and then only the reserved columns may sit beside it.

Empty cells: an empty CSV cell in a plain column stays ``""`` (an empty text is still a text); an
empty reserved or JSON cell is left out, so the import's schema check reports the missing field.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from assay.errors import Invalid, detail
from assay.formats._lines import BOM, iter_lines

RESERVED = frozenset({"external_id", "priority", "meta", "gold", "batch"})
_JSON_RESERVED = frozenset({"meta", "gold"})
# Long documents in a single cell are normal for annotation data; the csv module's default cap
# (128 KiB) would reject them.
_CSV_FIELD_LIMIT = 1 << 28
_PARQUET_BATCH = 4096


def _invalid(name: str, where: str, msg: str, **extra: Any) -> Invalid:
    return Invalid(f"{name}: {where}: {msg}", errors=[detail(where, msg, file=name, **extra)])


def _parse_priority(raw: Any, *, name: str, where: str) -> int:
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


def _parse_json_cell(raw: str, *, name: str, where: str, column: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _invalid(
            name,
            where,
            f"column {column!r} must hold JSON ({exc.msg} at character {exc.pos + 1})",
            column=column,
        ) from None


def _check_header(header: list[str], *, name: str, where: str) -> None:
    seen: set[str] = set()
    for index, column in enumerate(header, start=1):
        if not column.strip():
            raise _invalid(name, where, f"header column {index} has no name; name every column")
        if column in seen:
            raise _invalid(name, where, f"header column {column!r} appears twice; names must be unique")
        seen.add(column)


def iter_csv(
    source: BinaryIO, *, name: str, json_fields: frozenset[str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a UTF-8 CSV (BOM tolerated) as item records; position = the row's first line."""
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    reader = csv.reader(_text_lines(source, name=name), strict=True)
    last_line = 0
    header: list[str] | None = None
    plan: list[tuple[str, int]] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _invalid(name, f"line {last_line + 1}", f"cannot read CSV ({exc})") from None
        line, last_line = last_line + 1, reader.line_num
        if not row:  # a blank line
            continue
        if header is None:
            _check_header(row, name=name, where=f"line {line}")
            header = row
            # How each column is handled, decided once: 0 plain data, 1 JSON data, 2 reserved.
            plan = [(col, 2 if col in RESERVED else 1 if col in json_fields else 0) for col in header]
            continue
        if len(row) != len(header):
            raise _invalid(
                name,
                f"line {line}",
                f"expected {len(header)} fields as in the header, found {len(row)}; "
                "quote fields that contain commas or line breaks",
            )
        yield line, _csv_record(row, plan, name=name, where=f"line {line}")
    if header is None:
        raise _invalid(name, "line 1", "the file is empty; a header row naming the columns is required")


def _text_lines(source: BinaryIO, *, name: str) -> Iterator[str]:
    # Decoding line by line (rather than through io.TextIOWrapper, which decodes 8 KiB blocks)
    # lets a bad byte be reported at its real line and column.
    for number, raw in enumerate(iter_lines(source), start=1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8") + "\n"
        except UnicodeDecodeError as exc:
            raise _invalid(
                name,
                f"line {number}",
                f"not UTF-8 text (byte {raw[exc.start]:#04x} at column {exc.start + 1}); "
                "save the file as UTF-8",
            ) from None


def _csv_record(row: list[str], plan: list[tuple[str, int]], *, name: str, where: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    record: dict[str, Any] = {"data": data}
    for (column, how), cell in zip(plan, row, strict=True):
        if how == 0:
            data[column] = cell
        elif not cell.strip():
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
    source: BinaryIO, *, name: str, json_fields: frozenset[str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a Parquet file as item records, read one batch at a time; position = 1-based row."""
    try:
        parquet = pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise _invalid(name, "row 1", f"not a Parquet file ({exc})") from None
    schema = parquet.schema_arrow
    columns = list(schema.names)
    _check_header(columns, name=name, where="header")
    has_data = "data" in columns
    if has_data:
        extra = [c for c in columns if c != "data" and c not in RESERVED]
        if extra:
            raise _invalid(
                name,
                "header",
                f"column {extra[0]!r} sits beside a 'data' column; only external_id, priority, meta, "
                "gold and batch may (or drop 'data' and give one column per field)",
            )
    convert = {c for c in columns if _needs_conversion(schema.field(c).type)}
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH):
            for values in batch.to_pylist():
                row += 1
                if convert:
                    for column in convert:
                        values[column] = _jsonable(values[column])
                yield (
                    row,
                    _parquet_record(
                        values, has_data=has_data, json_fields=json_fields, name=name, where=f"row {row}"
                    ),
                )
    except (pa.ArrowException, OSError) as exc:
        raise _invalid(name, f"row {row + 1}", f"cannot read Parquet ({exc})") from None


def _parquet_record(
    values: dict[str, Any], *, has_data: bool, json_fields: frozenset[str], name: str, where: str
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
