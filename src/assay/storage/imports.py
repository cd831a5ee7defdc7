"""Imports written in short transactions, invisible until they commit.

An import writes its items in chunks, each its own short transaction, marked with the import's id
and closed (``open`` false).  No reader sees them (``storage.projects.live``) until one statement
turns the import ``committed``: then all of them are there at once.  Publishing then opens them for
`next` and clears the mark, again in chunks.  An import that fails deletes what it wrote, in chunks,
before it is marked ``failed``; one whose process died (its heartbeat stopped) is undone the same
way by the next import into the project or by ``assay serve`` at start-up (``stale``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.storage import counters
from assay.storage.tables import imports, items

CHUNK = 1000  # rows per transaction: a few milliseconds of the write lock, whatever the file
STALE = timedelta(minutes=10)  # a running import that has not written for this long is dead


def start(conn: Connection, *, org_id: int, project_id: int, by: int | None, at: datetime) -> int:
    row = conn.execute(
        imports.insert()
        .values(
            org_id=org_id, project_id=project_id, state="running", created_by=by, created_at=at, heartbeat=at
        )
        .returning(imports.c.id)
    ).one()
    return int(row.id)


def beat(conn: Connection, *, import_id: int, at: datetime, added: int) -> None:
    conn.execute(
        imports.update()
        .where(imports.c.id == import_id)
        .values(heartbeat=at, written=imports.c.written + added)
    )


def commit(conn: Connection, *, import_id: int, at: datetime) -> bool:
    """The one statement that makes every item of the import visible at once."""
    result = conn.execute(
        imports.update()
        .where(imports.c.id == import_id, imports.c.state == "running")
        .values(state="committed", heartbeat=at)
    )
    return result.rowcount == 1


def publish_chunk(conn: Connection, *, import_id: int, overlap: int, gold_cap: int) -> int:
    """Open the next chunk of a committed import's items for `next` (the counters' rule: claimed
    is 0, so each is open below its cap) and clear their mark; how many it did."""
    chunk = (
        sa.select(items.c.id).where(items.c.import_id == import_id).order_by(items.c.id).limit(CHUNK)
    ).scalar_subquery()
    cap = sa.case((items.c.is_gold, gold_cap), else_=overlap)
    result = conn.execute(
        items.update()
        .where(items.c.id.in_(chunk))
        .values(open=counters.open_rule(items.c.claimed, cap), import_id=None)
    )
    return int(result.rowcount)


def discard_chunk(conn: Connection, *, import_id: int) -> int:
    """Delete the next chunk of a failed import's items; how many it did."""
    chunk = (
        sa.select(items.c.id).where(items.c.import_id == import_id).order_by(items.c.id).limit(CHUNK)
    ).scalar_subquery()
    return int(conn.execute(items.delete().where(items.c.id.in_(chunk))).rowcount)


def finish(conn: Connection, *, import_id: int, state: str, at: datetime) -> None:
    conn.execute(
        imports.update().where(imports.c.id == import_id).values(state=state, finished_at=at, heartbeat=at)
    )


def stale(conn: Connection, *, at: datetime, project_id: int | None = None) -> list[sa.Row[Any]]:
    """Imports left behind by a process that died: running with a stale heartbeat (to undo), or
    committed and not published yet (to finish publishing)."""
    stmt = sa.select(imports.c.id, imports.c.org_id, imports.c.project_id, imports.c.state).where(
        sa.or_(
            sa.and_(imports.c.state == "running", imports.c.heartbeat < at - STALE),
            imports.c.state == "committed",
        )
    )
    if project_id is not None:
        stmt = stmt.where(imports.c.project_id == project_id)
    return list(conn.execute(stmt.order_by(imports.c.id)))
