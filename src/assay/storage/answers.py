"""Reads of annotations with their provenance, for item views and exports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.storage.tables import (
    annotation_revisions,
    assignments,
    items,
    memberships,
    reviews,
    users,
    workforces,
)
from assay.storage.tables import annotations as annotations_t


def latest_fix() -> Any:
    """The answers of an annotation's latest ``fix`` review (a reviewer's correction), if any."""
    return (
        sa.select(reviews.c.answers)
        .where(reviews.c.annotation_id == annotations_t.c.id, reviews.c.verdict == "fix")
        .order_by(reviews.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def latest_revision() -> Any:
    """The answers of the author's latest revision of an annotation (their undo), if any."""
    return (
        sa.select(annotation_revisions.c.answers)
        .where(annotation_revisions.c.annotation_id == annotations_t.c.id)
        .order_by(annotation_revisions.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def own_answers() -> Any:
    """What the annotator answered, as they last left it: their latest revision, else what they
    submitted.  Gold is scored on this, and nothing a reviewer does changes it."""
    return sa.func.coalesce(latest_revision(), annotations_t.c.answers)


def record_answers() -> Any:
    """The answer of record (consensus, exports): a reviewer's fix, else the author's own answer."""
    return sa.func.coalesce(latest_fix(), latest_revision(), annotations_t.c.answers)


def latest_verdict() -> Any:
    """The verdict of an annotation's latest review (accept, reject or fix), if any."""
    return (
        sa.select(reviews.c.verdict)
        .where(reviews.c.annotation_id == annotations_t.c.id)
        .order_by(reviews.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def rejected() -> Any:
    """Whether a reviewer rejected the annotation (a reject is final: no later verdict undoes it)."""
    return sa.exists().where(reviews.c.annotation_id == annotations_t.c.id, reviews.c.verdict == "reject")


def annotations_for_items(conn: Connection, *, org_id: int, item_ids: Sequence[int]) -> list[sa.Row[Any]]:
    """Annotations of the given items, oldest first, with annotator, workforce, latest review and
    the order their assignment showed the responses in (``display_order``)."""
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
                latest_revision().label("revised_answers"),
                latest_fix().label("fixed_answers"),
                annotations_t.c.duration_ms,
                annotations_t.c.created_at,
                # A vendor's external annotator by the name the vendor gave, not by the address
                # made up for their user row; their answers came in a delivery.
                sa.func.coalesce(memberships.c.external_name, users.c.email).label("annotator"),
                sa.func.coalesce(memberships.c.external, sa.false()).label("imported"),
                workforces.c.name.label("workforce"),
                latest_review.label("review"),
                assignments.c.display_order,
            )
            .join(users, users.c.id == annotations_t.c.user_id)
            .outerjoin(
                memberships,
                sa.and_(memberships.c.org_id == annotations_t.c.org_id, memberships.c.user_id == users.c.id),
            )
            .outerjoin(assignments, assignments.c.id == annotations_t.c.assignment_id)
            .outerjoin(workforces, workforces.c.id == annotations_t.c.workforce_id)
            .where(annotations_t.c.org_id == org_id, annotations_t.c.item_id.in_(list(item_ids)))
            .order_by(annotations_t.c.item_id, annotations_t.c.id)
        )
    )


def annotation_of(conn: Connection, *, org_id: int, annotation_id: int) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(annotations_t).where(annotations_t.c.org_id == org_id, annotations_t.c.id == annotation_id)
    ).first()


def insert_revision(conn: Connection, *, values: dict[str, Any]) -> int:
    row = conn.execute(
        annotation_revisions.insert().values(**values).returning(annotation_revisions.c.id)
    ).one()
    return int(row.id)


def lock_annotation(conn: Connection, *, org_id: int, annotation_id: int) -> sa.Row[Any] | None:
    """Read an annotation for update, so that its author's revisions and reviewers' verdicts on it
    are serialised (PostgreSQL row lock; SQLite already holds the write lock)."""
    stmt = sa.select(annotations_t).where(
        annotations_t.c.org_id == org_id, annotations_t.c.id == annotation_id
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def own_answers_of(conn: Connection, *, annotation_id: int) -> Any:
    """One annotation's own answers (its author's latest revision, else as submitted)."""
    return conn.execute(sa.select(own_answers()).where(annotations_t.c.id == annotation_id)).scalar_one()


def has_review(conn: Connection, *, annotation_id: int) -> bool:
    """Whether a reviewer has judged the annotation (then its author can no longer revise it)."""
    return (
        conn.execute(sa.select(reviews.c.id).where(reviews.c.annotation_id == annotation_id).limit(1)).first()
        is not None
    )


def project_answers(conn: Connection, *, org_id: int, project_id: int) -> list[sa.Row[Any]]:
    """Every annotation of a project with its item's gold, annotator and workforce (for quality):
    ``answers`` of record for consensus, ``own_answers`` for gold, and whether it was rejected."""
    return list(
        conn.execute(
            sa.select(
                annotations_t.c.item_id,
                record_answers().label("answers"),
                own_answers().label("own_answers"),
                annotations_t.c.duration_ms,
                items.c.is_gold,
                items.c.gold,
                items.c.settled,
                annotations_t.c.user_id,
                annotations_t.c.workforce_id,
                users.c.email.label("annotator"),
                workforces.c.name.label("workforce"),
                rejected().label("rejected"),
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
