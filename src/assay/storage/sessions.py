"""Reads behind a browser session: the password check at login and the membership check per request."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.domain.people import Actor
from assay.storage import people
from assay.storage.tables import memberships, organizations, users


def login_rows(conn: Connection, *, email: str) -> list[sa.Row[Any]]:
    """A user's password hash with their active memberships, oldest first (none: no such login)."""
    return list(
        conn.execute(
            sa.select(
                users.c.id.label("user_id"),
                users.c.password_hash,
                memberships.c.id.label("membership_id"),
                organizations.c.slug,
                organizations.c.name.label("org_name"),
            )
            .join(memberships, memberships.c.user_id == users.c.id)
            .join(organizations, organizations.c.id == memberships.c.org_id)
            .where(
                users.c.email == email.strip().lower(),
                users.c.active.is_(True),
                memberships.c.active.is_(True),
            )
            .order_by(memberships.c.id)
        )
    )


def password_hash_of(conn: Connection, *, user_id: int) -> str | None:
    row = conn.execute(sa.select(users.c.password_hash).where(users.c.id == user_id)).first()
    return None if row is None else row.password_hash


def session_actor(conn: Connection, *, membership_id: int) -> tuple[Actor, str | None] | None:
    """The actor of a live membership and the user's password hash (to tie sessions to the password)."""
    actor = people.actor_for_membership(conn, membership_id=membership_id)
    if actor is None:
        return None
    return actor, password_hash_of(conn, user_id=actor.user_id)


def memberships_of_user(conn: Connection, *, user_id: int) -> list[sa.Row[Any]]:
    """Every active organisation a user belongs to (for the organisation switcher)."""
    return list(
        conn.execute(
            sa.select(memberships.c.id, organizations.c.slug, organizations.c.name, memberships.c.role)
            .join(organizations, organizations.c.id == memberships.c.org_id)
            .where(memberships.c.user_id == user_id, memberships.c.active.is_(True))
            .order_by(memberships.c.id)
        )
    )
