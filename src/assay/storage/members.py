"""Member administration from the web pages: memberships, workforces and API tokens of one organisation."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.errors import Conflict
from assay.storage.tables import api_tokens, memberships, users, workforces


def get_membership(conn: Connection, *, org_id: int, membership_id: int) -> Any:
    return conn.execute(
        sa.select(memberships.c.id, memberships.c.role, memberships.c.user_id, users.c.email)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.org_id == org_id, memberships.c.id == membership_id)
    ).first()


def update_membership(
    conn: Connection, *, org_id: int, membership_id: int, role: str, workforce_id: int | None, active: bool
) -> None:
    """Change a membership.  An external annotator (their answers imported from a delivery) stays
    an annotator of their workforce: their delivered answers, and the next delivery that names
    them, are that workforce's.  Only whether they are active may change."""
    external = conn.execute(
        sa.select(memberships.c.role, memberships.c.workforce_id, users.c.email)
        .join(users, users.c.id == memberships.c.user_id)
        .where(
            memberships.c.org_id == org_id,
            memberships.c.id == membership_id,
            memberships.c.external.is_(True),
        )
    ).first()
    if external is not None and (role != external.role or workforce_id != external.workforce_id):
        raise Conflict(
            f"{external.email} is an external annotator of their workforce (their answers were "
            "imported); only whether they are active can change"
        )
    conn.execute(
        memberships.update()
        .where(memberships.c.org_id == org_id, memberships.c.id == membership_id)
        .values(role=role, workforce_id=workforce_id, active=active)
    )


def workforce_id(conn: Connection, *, org_id: int, name: str) -> int | None:
    row = conn.execute(
        sa.select(workforces.c.id).where(workforces.c.org_id == org_id, workforces.c.name == name)
    ).first()
    return None if row is None else int(row.id)


def list_tokens(conn: Connection, *, org_id: int) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(
                api_tokens.c.id,
                api_tokens.c.prefix,
                api_tokens.c.name,
                api_tokens.c.created_at,
                api_tokens.c.last_used_at,
                api_tokens.c.revoked_at,
                users.c.email,
            )
            .join(memberships, memberships.c.id == api_tokens.c.membership_id)
            .join(users, users.c.id == memberships.c.user_id)
            .where(api_tokens.c.org_id == org_id)
            .order_by(api_tokens.c.id.desc())
        )
    )
