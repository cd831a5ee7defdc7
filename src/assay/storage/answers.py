"""Reads of annotations with their provenance, for item views and exports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.storage.tables import annotations, reviews, users, workforces


def annotations_for_items(conn: Connection, *, org_id: int, item_ids: Sequence[int]) -> list[sa.Row[Any]]:
    """Annotations of the given items, oldest first, with annotator, workforce and latest review."""
    if not item_ids:
        return []
    latest_review = (
        sa.select(reviews.c.verdict)
        .where(reviews.c.annotation_id == annotations.c.id)
        .order_by(reviews.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return list(
        conn.execute(
            sa.select(
                annotations.c.id,
                annotations.c.item_id,
                annotations.c.assignment_id,
                annotations.c.answers,
                annotations.c.duration_ms,
                annotations.c.created_at,
                users.c.email.label("annotator"),
                workforces.c.name.label("workforce"),
                latest_review.label("review"),
            )
            .join(users, users.c.id == annotations.c.user_id)
            .outerjoin(workforces, workforces.c.id == annotations.c.workforce_id)
            .where(annotations.c.org_id == org_id, annotations.c.item_id.in_(list(item_ids)))
            .order_by(annotations.c.item_id, annotations.c.id)
        )
    )
