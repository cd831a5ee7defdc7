"""Logical backup and restore: every table, streamed as gzip-compressed JSON lines.

One format for both backends, so a backup taken from SQLite restores into PostgreSQL and back
(the way to move a growing installation).  A backup is consistent: it is read in one transaction
(a snapshot on PostgreSQL; on SQLite a read transaction under WAL sees one state).  Restore goes
into an empty database at the same schema revision, in one transaction: it lands whole or not at all.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import sqlalchemy as sa

from assay.errors import Conflict, Invalid
from assay.storage import migrate
from assay.storage.engine import Database
from assay.storage.tables import UtcDateTime, metadata

FORMAT = "assay-backup"
VERSION = 1
BATCH = 2000


def _tables() -> list[sa.Table]:
    return list(metadata.sorted_tables)  # parents before children


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def backup(db: Database, out: BinaryIO) -> dict[str, int]:
    """Write every row of every table to ``out``; returns the row count per table."""
    counts: dict[str, int] = {}
    with gzip.GzipFile(fileobj=out, mode="wb") as gz, db.read() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        header = {"format": FORMAT, "version": VERSION, "revision": migrate.current(db) or migrate.head()}
        gz.write(orjson.dumps(header) + b"\n")
        for table in _tables():
            n = 0
            order = list(table.primary_key.columns) or list(table.columns)
            names = [str(c.name) for c in table.columns]  # quoted_name is a str subclass orjson refuses
            for row in conn.execute(sa.select(table).order_by(*order)):
                record = {name: _encode(value) for name, value in zip(names, row, strict=True)}
                gz.write(orjson.dumps({"t": str(table.name), "r": record}) + b"\n")
                n += 1
            counts[str(table.name)] = n
        gz.write(orjson.dumps({"end": counts}) + b"\n")
    return counts


def _lines(source: BinaryIO) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with gzip.GzipFile(fileobj=source, mode="rb") as gz:
            for number, line in enumerate(gz, start=1):
                try:
                    yield number, orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise Invalid(
                        f"backup line {number} is not valid JSON ({exc}); the file is damaged"
                    ) from None
    except (OSError, EOFError) as exc:
        raise Invalid(f"not an assay backup (gzip: {exc})") from None


def restore(db: Database, source: BinaryIO) -> dict[str, int]:
    """Load a backup into an empty database (migrated to the backup's revision first)."""
    lines = _lines(source)
    try:
        _, header = next(lines)
    except StopIteration:
        raise Invalid("the backup file is empty") from None
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise Invalid("not an assay backup (bad header)")
    revision = header.get("revision")
    if revision is not None and not migrate.known(revision):
        raise Invalid(
            f"the backup comes from a newer assay (schema revision {revision}); upgrade assay first"
        )
    # Migrations only add, so rows of an older backup load into today's tables (new columns empty).
    migrate.upgrade(db)
    tables = {str(t.name): t for t in _tables()}
    times = {
        name: {c.name for c in t.columns if isinstance(c.type, UtcDateTime)} for name, t in tables.items()
    }
    counts: dict[str, int] = {}
    ended = False
    with db.write() as conn:
        for table in tables.values():
            if conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one():
                raise Conflict(
                    f"the database is not empty (table {table.name} has rows); restore needs an empty one"
                )
        pending: dict[str, list[dict[str, Any]]] = {}

        def flush(name: str) -> None:
            rows = pending.pop(name, [])
            if rows:
                conn.execute(tables[name].insert(), rows)

        current = None
        for number, entry in lines:
            if "end" in entry:
                ended = True
                expected = entry["end"]
                break
            name, row = entry.get("t"), entry.get("r")
            if name not in tables or not isinstance(row, dict):
                raise Invalid(f"backup line {number}: unknown table {name!r}")
            if name != current and current is not None:
                flush(current)
            current = name
            for col in times[name]:
                if row.get(col) is not None:
                    row[col] = datetime.fromisoformat(row[col])
            pending.setdefault(name, []).append(row)
            counts[name] = counts.get(name, 0) + 1
            if len(pending[name]) >= BATCH:
                flush(name)
        if current is not None:
            flush(current)
        if not ended:
            raise Invalid("the backup is truncated (no end marker); nothing was restored")
        for name, n in expected.items():
            if counts.get(name, 0) != n:
                raise Invalid(
                    f"the backup is damaged: table {name} has {counts.get(name, 0)} rows, expected {n}"
                )
        if conn.dialect.name == "postgresql":
            # Identity sequences must continue after the restored ids.
            for table in tables.values():
                if "id" in table.c and counts.get(table.name):
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT MAX(id) FROM {table.name}))"
                    )
    return counts


def backup_file(db: Database, path: Path) -> dict[str, int]:
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as fh:
        counts = backup(db, fh)
    tmp.replace(path)  # a backup that exists is complete
    return counts


def restore_file(db: Database, path: Path) -> dict[str, int]:
    if not path.is_file():
        raise Invalid(f"{path}: no such file")
    with path.open("rb") as fh:
        return restore(db, fh)
