"""Projects and items: scoped reads, bulk import writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC
from typing import Any

import orjson
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.errors import Conflict, NotFound
from assay.storage.engine import in_chunks
from assay.storage.people import now
from assay.storage.tables import annotations as annotations_t
from assay.storage.tables import imports, items, projects


def insert_project(
    conn: Connection,
    *,
    org_id: int,
    name: str,
    description: str,
    schema: dict[str, Any],
    settings: dict[str, Any],
    created_by: int | None,
) -> int:
    taken = conn.execute(
        sa.select(projects.c.id).where(projects.c.org_id == org_id, projects.c.name == name)
    ).first()
    if taken is not None:
        raise Conflict(f"a project named {name!r} already exists in this organisation")
    row = conn.execute(
        projects.insert()
        .values(
            org_id=org_id,
            name=name,
            description=description,
            schema=schema,
            settings=settings,
            created_by=created_by,
            created_at=now(),
        )
        .returning(projects.c.id)
    ).one()
    return int(row.id)


def name_taken(conn: Connection, *, org_id: int, name: str) -> bool:
    row = conn.execute(
        sa.select(projects.c.id).where(projects.c.org_id == org_id, projects.c.name == name)
    ).first()
    return row is not None


def update_project(conn: Connection, *, org_id: int, project_id: int, values: dict[str, Any]) -> None:
    conn.execute(
        projects.update().where(projects.c.org_id == org_id, projects.c.id == project_id).values(**values)
    )


def get_project(conn: Connection, *, org_id: int, project_id: int) -> sa.Row[Any]:
    row = conn.execute(
        sa.select(projects).where(projects.c.org_id == org_id, projects.c.id == project_id)
    ).first()
    if row is None:
        raise NotFound(f"project {project_id} does not exist")
    return row


def find_project(conn: Connection, *, org_id: int, ref: str) -> sa.Row[Any]:
    """A project by id or by name (the CLI accepts either)."""
    cond = projects.c.name == ref
    if ref.isdigit():
        cond = sa.or_(cond, projects.c.id == int(ref))
    row = conn.execute(sa.select(projects).where(projects.c.org_id == org_id, cond)).first()
    if row is None:
        raise NotFound(f"project {ref!r} does not exist")
    return row


def list_projects(conn: Connection, *, org_id: int) -> list[sa.Row[Any]]:
    return list(conn.execute(sa.select(projects).where(projects.c.org_id == org_id).order_by(projects.c.id)))


def live() -> sa.ColumnElement[bool]:
    """The items readers may see: every item but those of an import that has not committed yet
    (``storage.imports``), so that an import is seen whole or not at all."""
    done = sa.select(imports.c.id).where(imports.c.state.in_(("committed", "published")))
    return sa.or_(items.c.import_id.is_(None), items.c.import_id.in_(done))


def batch_filter(
    *, only: Collection[str] | None = None, hidden: Collection[str] = ()
) -> list[sa.ColumnElement[bool]]:
    """Conditions on ``items`` that keep an actor's batches (see ``access.batch_scope``): ``only``
    keeps just those batches, ``hidden`` drops those; neither adds nothing.  One definition, so
    that what is counted for an actor is what ``next`` offers them."""
    conditions: list[sa.ColumnElement[bool]] = []
    if only is not None:
        conditions.append(items.c.batch.in_(sorted(only)))
    if hidden:
        conditions.append(sa.or_(items.c.batch.is_(None), items.c.batch.not_in(sorted(hidden))))
    return conditions


def project_counts(
    conn: Connection,
    *,
    org_id: int,
    project_id: int,
    only: Collection[str] | None = None,
    hidden: Collection[str] = (),
) -> dict[str, int]:
    """Items, gold, answers and completed items of a project, or of the batches ``only`` and
    ``hidden`` leave (``batch_filter``): counts shown to a workforce tell nothing of other batches."""
    row = conn.execute(
        sa.select(
            sa.func.count().label("items"),
            sa.func.coalesce(sa.func.sum(sa.case((items.c.is_gold, 1), else_=0)), 0).label("gold"),
            sa.func.coalesce(sa.func.sum(items.c.answered), 0).label("annotations"),
            sa.func.coalesce(
                sa.func.sum(sa.case((sa.or_(items.c.open, items.c.waiting), 0), else_=1)), 0
            ).label("complete"),
            sa.func.coalesce(sa.func.sum(sa.case((items.c.waiting, 1), else_=0)), 0).label("waiting"),
        ).where(
            items.c.org_id == org_id,
            items.c.project_id == project_id,
            live(),
            *batch_filter(only=only, hidden=hidden),
        )
    ).one()
    return {k: int(v) for k, v in row._mapping.items()}


def has_external_ids(conn: Connection, *, project_id: int) -> bool:
    return (
        conn.execute(
            sa.select(items.c.id)
            .where(items.c.project_id == project_id, items.c.external_id.is_not(None))
            .limit(1)
        ).first()
        is not None
    )


def existing_external_ids(conn: Connection, *, project_id: int, external_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in in_chunks(external_ids):
        rows = conn.execute(
            sa.select(items.c.external_id).where(
                items.c.project_id == project_id, items.c.external_id.in_(chunk)
            )
        )
        found.update(r.external_id for r in rows)
    return found


_ITEM_COLUMNS = (
    "org_id",
    "project_id",
    "external_id",
    "batch",
    "data",
    "priority",
    "meta",
    "gold",
    "is_gold",
    "created_at",
    "import_id",
    "open",
    "waiting",
)
_JSON_COLUMNS = frozenset({"data", "meta", "gold"})


def insert_items(conn: Connection, *, rows: Iterable[dict[str, Any]]) -> int:
    """Bulk insert prepared rows (org_id, project_id, external_id, batch, data, priority, meta, gold,
    is_gold, created_at, import_id, open, waiting) in the current transaction.

    The import's hot path: SQLAlchemy's per-row parameter processing cost more than the database
    itself, so rows go straight to the driver, serialised once with orjson (SQLite: one
    ``executemany``; PostgreSQL: ``COPY``).  The encoding matches what the table types write.
    """
    batch = list(rows)
    if not batch:
        return 0
    raw = conn.connection.driver_connection
    try:
        if conn.dialect.name == "postgresql":
            _copy_items(raw, batch)
        else:
            placeholders = ", ".join("?" for _ in _ITEM_COLUMNS)
            sql = f"INSERT INTO items ({', '.join(_ITEM_COLUMNS)}) VALUES ({placeholders})"
            cursor = raw.cursor()  # type: ignore[union-attr]
            try:
                cursor.executemany(sql, [_sqlite_row(r) for r in batch])
            finally:
                cursor.close()
    except (sqlite3.IntegrityError, psycopg.errors.IntegrityError):
        # Only a concurrent import into the same project can get here (the import checks ids).
        raise Conflict(
            "another import added items with the same external ids at the same time; "
            "nothing was imported; retry with on_duplicate=skip"
        ) from None
    return len(batch)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _sqlite_row(row: dict[str, Any]) -> tuple[Any, ...]:
    out: list[Any] = []
    for col in _ITEM_COLUMNS:
        value = row[col]
        if col in _JSON_COLUMNS:
            value = _json(value)
        elif col == "created_at":
            # SQLAlchemy's SQLite DATETIME text form; UtcDateTime reads it back as UTC.
            value = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        elif col in ("is_gold", "open", "waiting"):
            value = 1 if value else 0
        out.append(value)
    return tuple(out)


def _copy_items(raw: Any, batch: list[dict[str, Any]]) -> None:
    columns = ", ".join(_ITEM_COLUMNS)
    with raw.cursor() as cursor:
        # PostgreSQL refuses COPY FROM into a table whose row-level security applies to the caller
        # (migration 0005, for the ordinary role the server should run as): stage the batch in a
        # temporary table, then INSERT … SELECT, which the policy checks row by row.
        cursor.execute("SELECT row_security_active('items')")
        staged = bool(cursor.fetchone()[0])
        target = "items"
        if staged:
            target = "assay_items_stage"
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {target} ON COMMIT DROP AS "
                f"SELECT {columns} FROM items WITH NO DATA"
            )
        with cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row(tuple(_json(row[c]) if c in _JSON_COLUMNS else row[c] for c in _ITEM_COLUMNS))
        if staged:
            cursor.execute(f"INSERT INTO items ({columns}) SELECT {columns} FROM {target}")
            cursor.execute(f"TRUNCATE {target}")


def get_item(conn: Connection, *, org_id: int, item_id: int) -> sa.Row[Any]:
    row = conn.execute(
        sa.select(items).where(items.c.org_id == org_id, items.c.id == item_id, live())
    ).first()
    if row is None:
        raise NotFound(f"item {item_id} does not exist")
    return row


def item_batches(
    conn: Connection, *, org_id: int, item_ids: Sequence[int]
) -> dict[int, tuple[int, str | None]]:
    """item id → (project id, batch) for the given items of the organisation."""
    found: dict[int, tuple[int, str | None]] = {}
    for chunk in in_chunks(item_ids):
        rows = conn.execute(
            sa.select(items.c.id, items.c.project_id, items.c.batch).where(
                items.c.org_id == org_id, items.c.id.in_(chunk), live()
            )
        )
        found.update((int(r.id), (int(r.project_id), r.batch)) for r in rows)
    return found


def item_ids_page(
    conn: Connection, *, org_id: int, project_id: int, after: int, limit: int
) -> list[sa.Row[Any]]:
    """A page of items in id order (keyset pagination keeps exports flat in memory)."""
    return list(
        conn.execute(
            sa.select(
                items.c.id, items.c.external_id, items.c.batch, items.c.data, items.c.is_gold, items.c.meta
            )
            .where(items.c.org_id == org_id, items.c.project_id == project_id, items.c.id > after, live())
            .order_by(items.c.id)
            .limit(limit)
        )
    )


def answered_count(conn: Connection, *, org_id: int, project_id: int) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(annotations_t)
            .where(annotations_t.c.org_id == org_id, annotations_t.c.project_id == project_id)
        ).scalar_one()
    )


def item_data(conn: Connection, *, org_id: int, item_ids: Iterable[int]) -> dict[int, Any]:
    """The data of these items, by id (read in chunks: an IN list stays within SQLite's limits)."""
    ids = sorted(set(item_ids))
    out: dict[int, Any] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for row in conn.execute(
            sa.select(items.c.id, items.c.data).where(items.c.org_id == org_id, items.c.id.in_(chunk))
        ):
            out[int(row.id)] = row.data
    return out
