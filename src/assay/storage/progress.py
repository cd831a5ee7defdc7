"""Counts behind "My work" and the project dashboards (progress, throughput, per-item agreement)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.storage.answers import latest_verdict
from assay.storage.projects import batch_filter
from assay.storage.tables import annotations as annotations_t
from assay.storage.tables import assignments, items, users, workforces


def left_for(
    conn: Connection,
    *,
    org_id: int,
    project_id: int,
    user_id: int,
    at: datetime,
    only: Collection[str] | None = None,
    hidden: Collection[str] = (),
    with_gold: bool = False,
) -> dict[str, int]:
    """What one annotator can still do on a project: open items they never had, leases, answers.

    ``only`` and ``hidden`` are the annotator's batches (``batch_filter``, as ``next`` uses them):
    items of a batch shared with other workforces are not left for them, and are not counted.
    ``with_gold`` (a project that serves gold) counts open gold items too, exactly as `next` serves
    them: a gold lease and a normal one then take one each off what is left, and the count cannot
    tell them apart.
    """
    seen = sa.exists().where(assignments.c.item_id == items.c.id, assignments.c.user_id == user_id)
    available = conn.execute(
        sa.select(sa.func.count())
        .select_from(items)
        .where(
            items.c.org_id == org_id,
            items.c.project_id == project_id,
            *([] if with_gold else [items.c.is_gold.is_(False)]),
            items.c.open.is_(True),
            ~seen,
            *batch_filter(only=only, hidden=hidden),
        )
    ).scalar_one()
    mine = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(sa.case((assignments.c.status == "submitted", 1), else_=0)), 0),
            sa.func.coalesce(
                sa.func.sum(
                    sa.case(
                        (sa.and_(assignments.c.status == "leased", assignments.c.expires_at > at), 1), else_=0
                    )
                ),
                0,
            ),
        ).where(
            assignments.c.org_id == org_id,
            assignments.c.project_id == project_id,
            assignments.c.user_id == user_id,
        )
    ).one()
    return {"left": int(available), "done": int(mine[0]), "leased": int(mine[1])}


def answer_times(conn: Connection, *, org_id: int, project_id: int) -> list[sa.Row[Any]]:
    """Every answer's time, annotator and workforce, oldest first (progress and throughput charts)."""
    return list(
        conn.execute(
            sa.select(
                annotations_t.c.created_at,
                annotations_t.c.duration_ms,
                users.c.email.label("annotator"),
                workforces.c.name.label("workforce"),
            )
            .join(users, users.c.id == annotations_t.c.user_id)
            .outerjoin(workforces, workforces.c.id == annotations_t.c.workforce_id)
            .where(annotations_t.c.org_id == org_id, annotations_t.c.project_id == project_id)
            .order_by(annotations_t.c.created_at)
        )
    )


def item_answers(conn: Connection, *, org_id: int, project_id: int) -> list[sa.Row[Any]]:
    """(item, answers, latest verdict) of every non-gold answer: per-item agreement on the dashboard."""
    latest = latest_verdict()
    return list(
        conn.execute(
            sa.select(annotations_t.c.item_id, annotations_t.c.answers, latest.label("review"))
            .join(items, items.c.id == annotations_t.c.item_id)
            .where(
                annotations_t.c.org_id == org_id,
                annotations_t.c.project_id == project_id,
                items.c.is_gold.is_(False),
            )
            .order_by(annotations_t.c.item_id, annotations_t.c.id)
        )
    )
