"""Reviews: verdicts on annotations, the review queue, and the reject that returns an item to the pool."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.storage.engine import in_chunks
from assay.storage.tables import annotations as annotations_t
from assay.storage.tables import reviews


def _by_reviewer() -> Any:
    """A verdict given by someone other than the annotator (an annotator's own undo is not a review)."""
    return sa.and_(
        reviews.c.annotation_id == annotations_t.c.id, reviews.c.reviewer_id != annotations_t.c.user_id
    )


def latest_verdict(conn: Connection, *, annotation_id: int) -> str | None:
    row = conn.execute(
        sa.select(reviews.c.verdict)
        .where(reviews.c.annotation_id == annotation_id)
        .order_by(reviews.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else str(row.verdict)


def was_rejected(conn: Connection, *, annotation_id: int) -> bool:
    row = conn.execute(
        sa.select(reviews.c.id).where(reviews.c.annotation_id == annotation_id, reviews.c.verdict == "reject")
    ).first()
    return row is not None


def insert(conn: Connection, *, values: dict[str, Any]) -> int:
    row = conn.execute(reviews.insert().values(**values).returning(reviews.c.id)).one()
    return int(row.id)


def pending(conn: Connection, *, org_id: int, project_id: int, limit: int) -> list[int]:
    """Items of a project that hold at least one annotation no reviewer has judged, oldest first."""
    unreviewed = ~sa.exists().where(_by_reviewer())
    rows = conn.execute(
        sa.select(annotations_t.c.item_id)
        .where(annotations_t.c.org_id == org_id, annotations_t.c.project_id == project_id, unreviewed)
        .group_by(annotations_t.c.item_id)
        .order_by(sa.func.min(annotations_t.c.id))
        .limit(limit)
    )
    return [int(r.item_id) for r in rows]


def pending_count(conn: Connection, *, org_id: int, project_id: int) -> int:
    unreviewed = ~sa.exists().where(_by_reviewer())
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(annotations_t)
            .where(annotations_t.c.org_id == org_id, annotations_t.c.project_id == project_id, unreviewed)
        ).scalar_one()
    )


def reviewed_ids(conn: Connection, *, annotation_ids: list[int]) -> set[int]:
    """Which of these annotations a reviewer (not their own annotator) has judged; any number of ids."""
    found: set[int] = set()
    for chunk in in_chunks(annotation_ids):
        rows = conn.execute(
            sa.select(annotations_t.c.id).where(
                annotations_t.c.id.in_(chunk), sa.exists().where(_by_reviewer())
            )
        )
        found.update(int(r.id) for r in rows)
    return found
