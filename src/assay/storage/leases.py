"""Leases and answers: the SQL that keeps overlap exact and submissions exactly-once.

The rules live in the database, not in the application:
- ``items.claimed`` (live leases + answers) only moves through ``UPDATE … WHERE claimed < cap`` (the
  overlap, or the gold cap for a gold item), in ``storage.counters``.
  On PostgreSQL the row lock makes concurrent claims queue and re-check the condition; on SQLite
  ``BEGIN IMMEDIATE`` serialises writers.  Either way overlap can never be exceeded.
- ``UNIQUE(item_id, user_id)`` on assignments: nobody gets the same item twice, even when one
  annotator's two requests race on two server processes.
- ``UNIQUE(assignment_id)`` and ``UNIQUE(org_id, user_id, idempotency_key)`` on annotations: one
  answer per lease, and a retried submit finds the first answer instead of writing a second; when
  two arrive at once, the loser's insert is refused and it replays the winner's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from assay.storage import counters
from assay.storage.projects import batch_filter
from assay.storage.tables import annotations as annotations_t
from assay.storage.tables import assignments, items


def expire_leases(conn: Connection, *, project_id: int, at: datetime, overlap: int, gold_cap: int) -> int:
    """Return expired leases' items to the pool.  Each lease is expired by exactly one caller.

    On PostgreSQL the stale leases are locked in id order and rows another transaction holds are
    skipped (they belong to a concurrent expirer, or to a submit or skip resolving them): several
    processes sweeping at once would otherwise lock the same rows in different orders and
    deadlock.  Items are released in id order for the same reason.  SQLite ignores the locking
    clause; its writers are already serialised.
    """
    stale = (
        sa.select(assignments.c.id)
        .where(
            assignments.c.project_id == project_id,
            assignments.c.status == "leased",
            assignments.c.expires_at < at,
        )
        .order_by(assignments.c.id)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(
        assignments.update()
        .where(assignments.c.id.in_(stale.scalar_subquery()), assignments.c.status == "leased")
        .values(status="expired", finished_at=at)
        .returning(assignments.c.item_id)
    ).all()
    for item_id, count in sorted(Counter(int(r.item_id) for r in rows).items()):
        counters.release(conn, item_id=item_id, overlap=overlap, gold_cap=gold_cap, count=count)
    return len(rows)


def held_leases(conn: Connection, *, project_id: int, user_id: int, at: datetime) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(assignments)
            .where(
                assignments.c.project_id == project_id,
                assignments.c.user_id == user_id,
                assignments.c.status == "leased",
                assignments.c.expires_at > at,
            )
            .order_by(assignments.c.created_at, assignments.c.id)
        )
    )


def candidates(
    conn: Connection,
    *,
    project_id: int,
    user_id: int,
    gold: bool,
    limit: int,
    only: Collection[str] | None = None,
    hidden: Collection[str] = (),
) -> list[tuple[int, int]]:
    """(id, priority) of open items this user never had, best first (priority, then import order).

    ``only`` keeps just the items of those batches, ``hidden`` drops the items of those (item
    batches shared with other workforces).  Both only filter the rows read along ix_items_next:
    the order, and so the index walk, is the same for everyone.
    """
    seen = sa.exists().where(assignments.c.item_id == items.c.id, assignments.c.user_id == user_id)
    conditions = [
        items.c.project_id == project_id,
        items.c.is_gold.is_(gold),
        items.c.open.is_(True),
        ~seen,
        *batch_filter(only=only, hidden=hidden),
    ]
    rows = conn.execute(
        sa.select(items.c.id, items.c.priority)
        .where(*conditions)
        .order_by(items.c.priority.desc(), items.c.id)
        .limit(limit)
    )
    return [(int(r.id), int(r.priority)) for r in rows]


def insert_assignment(conn: Connection, *, values: dict[str, Any]) -> int | None:
    """Insert a lease; None if this user already has a row for the item (a racing request won)."""
    stmt: Any = (
        postgresql.insert(assignments) if conn.dialect.name == "postgresql" else sqlite.insert(assignments)
    )
    stmt = stmt.values(**values).on_conflict_do_nothing(index_elements=["item_id", "user_id"])
    row = conn.execute(stmt.returning(assignments.c.id)).first()
    return None if row is None else int(row.id)


def get_assignment(conn: Connection, *, org_id: int, assignment_id: int) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(assignments).where(assignments.c.org_id == org_id, assignments.c.id == assignment_id)
    ).first()


def lock_assignment(conn: Connection, *, org_id: int, assignment_id: int) -> sa.Row[Any] | None:
    """Read an assignment for update (PostgreSQL row lock; SQLite already holds the write lock)."""
    stmt = sa.select(assignments).where(assignments.c.org_id == org_id, assignments.c.id == assignment_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def set_status(conn: Connection, *, assignment_id: int, status: str, at: datetime, expect: str) -> bool:
    result = conn.execute(
        assignments.update()
        .where(assignments.c.id == assignment_id, assignments.c.status == expect)
        .values(status=status, finished_at=at)
    )
    return result.rowcount == 1


def annotation_by_key(conn: Connection, *, org_id: int, user_id: int, key: str) -> sa.Row[Any] | None:
    """The annotation a member already stored under an Idempotency-Key (keys are per organisation)."""
    return conn.execute(
        sa.select(annotations_t).where(
            annotations_t.c.org_id == org_id,
            annotations_t.c.user_id == user_id,
            annotations_t.c.idempotency_key == key,
        )
    ).first()


def annotation_for_assignment(conn: Connection, *, assignment_id: int) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(annotations_t).where(annotations_t.c.assignment_id == assignment_id)
    ).first()


class DuplicateAnswer(Exception):
    """Another request stored this lease's answer, or used this Idempotency-Key, a moment ago (the
    unique constraints refused this one); the transaction is void: replay from a fresh read."""


def insert_annotation(conn: Connection, *, values: dict[str, Any]) -> int:
    try:
        row = conn.execute(annotations_t.insert().values(**values).returning(annotations_t.c.id)).one()
    except sa.exc.IntegrityError:
        raise DuplicateAnswer() from None
    counters.answered(conn, item_id=values["item_id"])
    return int(row.id)


def extend(conn: Connection, *, assignment_id: int, at: datetime, until: datetime) -> bool:
    """Push a live lease's expiry; an expired or finished lease cannot come back this way."""
    result = conn.execute(
        assignments.update()
        .where(
            assignments.c.id == assignment_id, assignments.c.status == "leased", assignments.c.expires_at > at
        )
        .values(expires_at=until)
    )
    return result.rowcount == 1
