"""Workforces, pauses and the reads behind the quality gates (gold records, item votes, flags).

Every query names its organisation, like the rest of ``storage``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.storage.answers import latest_verdict, own_answers, record_answers, rejected
from assay.storage.projects import live
from assay.storage.tables import annotations as annotations_t
from assay.storage.tables import items, memberships, project_pauses, users, workforces

# --- workforces ---------------------------------------------------------------------------------


def list_workforces(conn: Connection, *, org_id: int) -> list[sa.Row[Any]]:
    members = (
        sa.select(sa.func.count())
        .where(memberships.c.workforce_id == workforces.c.id, memberships.c.active.is_(True))
        .scalar_subquery()
    )
    return list(
        conn.execute(
            sa.select(workforces, members.label("members"))
            .where(workforces.c.org_id == org_id)
            .order_by(workforces.c.id)
        )
    )


def get_workforce(conn: Connection, *, org_id: int, workforce_id: int) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(workforces).where(workforces.c.org_id == org_id, workforces.c.id == workforce_id)
    ).first()


def insert_workforce(conn: Connection, *, values: dict[str, Any]) -> int | None:
    """The new workforce's id, or None when the organisation already has one of that name."""
    taken = conn.execute(
        sa.select(workforces.c.id).where(
            workforces.c.org_id == values["org_id"], workforces.c.name == values["name"]
        )
    ).first()
    if taken is not None:
        return None
    return int(conn.execute(workforces.insert().values(**values).returning(workforces.c.id)).one().id)


def update_workforce(conn: Connection, *, org_id: int, workforce_id: int, values: dict[str, Any]) -> None:
    conn.execute(
        workforces.update()
        .where(workforces.c.org_id == org_id, workforces.c.id == workforce_id)
        .values(**values)
    )


def name_taken(conn: Connection, *, org_id: int, name: str, other_than: int) -> bool:
    row = conn.execute(
        sa.select(workforces.c.id).where(
            workforces.c.org_id == org_id, workforces.c.name == name, workforces.c.id != other_than
        )
    ).first()
    return row is not None


# --- pauses -------------------------------------------------------------------------------------


def active_pause(conn: Connection, *, org_id: int, project_id: int, membership_id: int) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(project_pauses).where(
            project_pauses.c.org_id == org_id,
            project_pauses.c.project_id == project_id,
            project_pauses.c.membership_id == membership_id,
            project_pauses.c.lifted_at.is_(None),
        )
    ).first()


def last_lift(conn: Connection, *, org_id: int, project_id: int, membership_id: int) -> datetime | None:
    """When a manager last lifted this member's pause here: gold answers before it are forgiven."""
    return conn.execute(
        sa.select(sa.func.max(project_pauses.c.lifted_at)).where(
            project_pauses.c.org_id == org_id,
            project_pauses.c.project_id == project_id,
            project_pauses.c.membership_id == membership_id,
        )
    ).scalar()


def insert_pause(conn: Connection, *, values: dict[str, Any]) -> int:
    return int(conn.execute(project_pauses.insert().values(**values).returning(project_pauses.c.id)).one().id)


def list_pauses(
    conn: Connection, *, org_id: int, project_id: int, workforce_id: int | None = None
) -> list[sa.Row[Any]]:
    stmt = (
        sa.select(
            project_pauses.c.id,
            project_pauses.c.membership_id,
            project_pauses.c.reason,
            project_pauses.c.created_at,
            users.c.email.label("user"),
            workforces.c.name.label("workforce"),
        )
        .join(memberships, memberships.c.id == project_pauses.c.membership_id)
        .join(users, users.c.id == memberships.c.user_id)
        .outerjoin(workforces, workforces.c.id == memberships.c.workforce_id)
        .where(
            project_pauses.c.org_id == org_id,
            project_pauses.c.project_id == project_id,
            project_pauses.c.lifted_at.is_(None),
        )
        .order_by(project_pauses.c.id)
    )
    if workforce_id is not None:
        stmt = stmt.where(memberships.c.workforce_id == workforce_id)
    return list(conn.execute(stmt))


def lift_pause(
    conn: Connection, *, org_id: int, project_id: int, pause_id: int, at: datetime, by: int
) -> bool:
    result = conn.execute(
        project_pauses.update()
        .where(
            project_pauses.c.org_id == org_id,
            project_pauses.c.project_id == project_id,
            project_pauses.c.id == pause_id,
            project_pauses.c.lifted_at.is_(None),
        )
        .values(lifted_at=at, lifted_by=by)
    )
    return result.rowcount == 1


# --- gold and votes -----------------------------------------------------------------------------


def gold_answers(
    conn: Connection,
    *,
    org_id: int,
    project_id: int,
    user_ids: Sequence[int],
    since: datetime | None = None,
) -> list[sa.Row[Any]]:
    """(user_id, workforce_id, own answers, gold, created_at) of these annotators' answers to a
    project's gold items, read through ix_annotations_user (project_id, user_id).  Gold is scored on
    the author's own answer: a reviewer's fix or reject of it changes no gold record, so no reviewer
    action can probe for the gold answer."""
    if not user_ids:
        return []
    stmt = (
        sa.select(
            annotations_t.c.user_id,
            annotations_t.c.workforce_id,
            own_answers().label("answers"),
            items.c.gold,
            annotations_t.c.created_at,
        )
        .join(items, items.c.id == annotations_t.c.item_id)
        .where(
            annotations_t.c.org_id == org_id,
            annotations_t.c.project_id == project_id,
            annotations_t.c.user_id.in_(list(user_ids)),
            items.c.is_gold.is_(True),
        )
    )
    if since is not None:
        stmt = stmt.where(annotations_t.c.created_at > since)
    return list(conn.execute(stmt))


def item_votes(conn: Connection, *, org_id: int, item_id: int) -> list[sa.Row[Any]]:
    """(user_id, workforce_id, answers of record) of an item's annotations that were not rejected."""
    return list(
        conn.execute(
            sa.select(
                annotations_t.c.user_id,
                annotations_t.c.workforce_id,
                record_answers().label("answers"),
            ).where(
                annotations_t.c.org_id == org_id,
                annotations_t.c.item_id == item_id,
                ~rejected(),
            )
        )
    )


def reviewed_verdicts(conn: Connection, *, org_id: int, item_id: int) -> list[str]:
    """The latest verdict of each reviewed annotation of an item."""
    verdict = latest_verdict()
    rows = conn.execute(
        sa.select(verdict.label("verdict")).where(
            annotations_t.c.org_id == org_id, annotations_t.c.item_id == item_id
        )
    )
    return [r.verdict for r in rows if r.verdict is not None]


def project_annotations(
    conn: Connection, *, org_id: int, project_id: int, workforce_id: int | None = None
) -> list[sa.Row[Any]]:
    """Every annotation of a project with what the spam checks look at (vendor-scoped on request)."""
    stmt = (
        sa.select(
            annotations_t.c.id,
            annotations_t.c.item_id,
            annotations_t.c.assignment_id,
            annotations_t.c.user_id,
            record_answers().label("answers"),
            own_answers().label("own_answers"),
            annotations_t.c.duration_ms,
            annotations_t.c.client,
            annotations_t.c.created_at,
            items.c.is_gold,
            items.c.gold,
            users.c.email.label("annotator"),
            workforces.c.name.label("workforce"),
            annotations_t.c.workforce_id,
            latest_verdict().label("review"),
            rejected().label("rejected"),
        )
        .join(items, items.c.id == annotations_t.c.item_id)
        .join(users, users.c.id == annotations_t.c.user_id)
        .outerjoin(workforces, workforces.c.id == annotations_t.c.workforce_id)
        .where(annotations_t.c.org_id == org_id, annotations_t.c.project_id == project_id)
        .order_by(annotations_t.c.id)
    )
    if workforce_id is not None:
        stmt = stmt.where(annotations_t.c.workforce_id == workforce_id)
    return list(conn.execute(stmt))


def settled_counts(conn: Connection, *, org_id: int, project_id: int) -> tuple[int, int, int]:
    """(normal items, of which settled by adaptive overlap, answers those settled items hold)."""
    settled = items.c.settled.is_(True)
    row = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((settled, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((settled, items.c.answered), else_=0)), 0),
        ).where(
            items.c.org_id == org_id, items.c.project_id == project_id, items.c.is_gold.is_(False), live()
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def gold_supply(conn: Connection, *, org_id: int, project_id: int) -> tuple[int, int, int]:
    """(gold items, of which still open, times gold items were shown): how much gold is left to
    serve, now that each gold item is shown no more often than the gold cap."""
    row = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((items.c.open.is_(True), 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(items.c.claimed), 0),
        ).where(items.c.org_id == org_id, items.c.project_id == project_id, items.c.is_gold.is_(True), live())
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def paused_counts(conn: Connection, *, org_id: int, project_ids: Sequence[int]) -> dict[int, int]:
    """How many annotators are paused on each of these projects, in one grouped query (the projects
    list shows it for every project at once); projects with nobody paused are left out."""
    if not project_ids:
        return {}
    rows = conn.execute(
        sa.select(
            project_pauses.c.project_id,
            sa.func.count(sa.distinct(project_pauses.c.membership_id)).label("paused"),
        )
        .where(
            project_pauses.c.org_id == org_id,
            project_pauses.c.project_id.in_(list(project_ids)),
            project_pauses.c.lifted_at.is_(None),
        )
        .group_by(project_pauses.c.project_id)
    )
    return {int(r.project_id): int(r.paused) for r in rows}
