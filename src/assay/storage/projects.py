"""Projects and items: scoped reads, bulk import writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.errors import Conflict, NotFound
from assay.storage.people import now
from assay.storage.tables import annotations as annotations_t
from assay.storage.tables import items, projects


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


def project_counts(conn: Connection, *, org_id: int, project_id: int) -> dict[str, int]:
    row = conn.execute(
        sa.select(
            sa.func.count().label("items"),
            sa.func.coalesce(sa.func.sum(sa.case((items.c.is_gold, 1), else_=0)), 0).label("gold"),
            sa.func.coalesce(sa.func.sum(items.c.answered), 0).label("annotations"),
            sa.func.coalesce(sa.func.sum(sa.case((items.c.open, 0), else_=1)), 0).label("complete"),
        ).where(items.c.org_id == org_id, items.c.project_id == project_id)
    ).one()
    return {k: int(v) for k, v in row._mapping.items()}


def existing_external_ids(conn: Connection, *, project_id: int, external_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(external_ids), 500):
        chunk = external_ids[start : start + 500]
        rows = conn.execute(
            sa.select(items.c.external_id).where(
                items.c.project_id == project_id, items.c.external_id.in_(chunk)
            )
        )
        found.update(r.external_id for r in rows)
    return found


def insert_items(conn: Connection, *, rows: Iterable[dict[str, Any]]) -> int:
    """Bulk insert prepared rows (each with org_id, project_id, data, ...) in one executemany."""
    batch = list(rows)
    if batch:
        conn.execute(items.insert(), batch)
    return len(batch)


def get_item(conn: Connection, *, org_id: int, item_id: int) -> sa.Row[Any]:
    row = conn.execute(sa.select(items).where(items.c.org_id == org_id, items.c.id == item_id)).first()
    if row is None:
        raise NotFound(f"item {item_id} does not exist")
    return row


def item_ids_page(
    conn: Connection, *, org_id: int, project_id: int, after: int, limit: int
) -> list[sa.Row[Any]]:
    """A page of items in id order (keyset pagination keeps exports flat in memory)."""
    return list(
        conn.execute(
            sa.select(items.c.id, items.c.external_id, items.c.data, items.c.is_gold, items.c.meta)
            .where(items.c.org_id == org_id, items.c.project_id == project_id, items.c.id > after)
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
