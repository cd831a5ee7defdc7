"""The audit log: append-only from the application (there is no update or delete here)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.storage.people import now
from assay.storage.tables import audit_events


def record(
    conn: Connection,
    *,
    action: str,
    allowed: bool,
    org_id: int | None = None,
    user_id: int | None = None,
    token_id: int | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    status: int | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        audit_events.insert().values(
            org_id=org_id,
            user_id=user_id,
            token_id=token_id,
            action=action[:100],
            object_type=object_type,
            object_id=object_id,
            allowed=allowed,
            status=status,
            ip=ip,
            detail=detail,
            created_at=now(),
        )
    )


def events(conn: Connection, *, org_id: int | None, limit: int = 100) -> list[sa.Row[Any]]:
    cond = audit_events.c.org_id.is_(None) if org_id is None else audit_events.c.org_id == org_id
    return list(
        conn.execute(sa.select(audit_events).where(cond).order_by(audit_events.c.id.desc()).limit(limit))
    )
