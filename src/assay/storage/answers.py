"""Reads of annotations with their provenance, for item views and exports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.storage.tables import annotations as annotations_t
from assay.storage.tables import items, reviews, users, workforces


def latest_fix() -> Any:
    """The answers of an annotation's latest ``fix`` review (a correction), if any."""
    return (
        sa.select(reviews.c.answers)
        .where(reviews.c.annotation_id == annotations_t.c.id, reviews.c.verdict == "fix")
        .order_by(reviews.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def latest_verdict() -> Any:
    """The verdict of an annotation's latest review (accept, reject or fix), if any."""
    return (
        sa.select(reviews.c.verdict)
        .where(reviews.c.annotation_id == annotations_t.c.id)
        .order_by(reviews.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def annotations_for_items(conn: Connection, *, org_id: int, item_ids: Sequence[int]) -> list[sa.Row[Any]]:
    """Annotations of the given items, oldest first, with annotator, workforce and latest review."""
    if not item_ids:
        return []
    latest_review = latest_verdict()
    return list(
        conn.execute(
            sa.select(
                annotations_t.c.id,
                annotations_t.c.item_id,
                annotations_t.c.assignment_id,
                annotations_t.c.answers,
                annotations_t.c.client,
                latest_fix().label("fixed_answers"),
                annotations_t.c.duration_ms,
                annotations_t.c.created_at,
                users.c.email.label("annotator"),
                workforces.c.name.label("workforce"),
                latest_review.label("review"),
            )
            .join(users, users.c.id == annotations_t.c.user_id)
            .outerjoin(workforces, workforces.c.id == annotations_t.c.workforce_id)
            .where(annotations_t.c.org_id == org_id, annotations_t.c.item_id.in_(list(item_ids)))
            .order_by(annotations_t.c.item_id, annotations_t.c.id)
        )
    )


def annotation_of(conn: Connection, *, org_id: int, annotation_id: int) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(annotations_t).where(annotations_t.c.org_id == org_id, annotations_t.c.id == annotation_id)
    ).first()


def insert_review(conn: Connection, *, values: dict[str, Any]) -> int:
    row = conn.execute(reviews.insert().values(**values).returning(reviews.c.id)).one()
    return int(row.id)


def project_answers(conn: Connection, *, org_id: int, project_id: int) -> list[sa.Row[Any]]:
    """Every annotation of a project with its item's gold, annotator and workforce (for quality)."""
    return list(
        conn.execute(
            sa.select(
                annotations_t.c.item_id,
                sa.func.coalesce(latest_fix(), annotations_t.c.answers).label("answers"),
                annotations_t.c.duration_ms,
                items.c.is_gold,
                items.c.gold,
                items.c.settled,
                annotations_t.c.user_id,
                annotations_t.c.workforce_id,
                users.c.email.label("annotator"),
                workforces.c.name.label("workforce"),
                (sa.func.coalesce(latest_verdict(), "") == "reject").label("rejected"),
            )
            .join(items, items.c.id == annotations_t.c.item_id)
            .join(users, users.c.id == annotations_t.c.user_id)
            .outerjoin(workforces, workforces.c.id == annotations_t.c.workforce_id)
            .where(annotations_t.c.org_id == org_id, annotations_t.c.project_id == project_id)
            .order_by(annotations_t.c.id)
        )
    )


def workforce_costs(conn: Connection, *, org_id: int) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(workforces.c.name, workforces.c.cost_per_hour, workforces.c.cost_per_answer).where(
                workforces.c.org_id == org_id
            )
        )
    )
