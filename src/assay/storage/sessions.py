"""Credentials, browser sessions and one-time links: the rows behind signing in.

A credential belongs to one membership (``memberships.password_hash``), never to the person across
organisations: ``set_password`` is the only writer, and it ends that membership's sessions in the
same transaction.  Lookups by token hash run in system scope (the organisation is what they find).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.storage.people import refuse_external
from assay.storage.tables import invitations, memberships, organizations, users, web_sessions

MAX_MEMBERSHIPS_TRIED = 20  # a sign-in checks the password against at most this many organisations


def login_rows(conn: Connection, *, email: str) -> list[sa.Row[Any]]:
    """The active memberships of an active user with their credentials, oldest first."""
    return list(
        conn.execute(
            sa.select(
                users.c.id.label("user_id"),
                memberships.c.id.label("membership_id"),
                memberships.c.org_id,
                memberships.c.password_hash,
                organizations.c.slug,
            )
            .join(memberships, memberships.c.user_id == users.c.id)
            .join(organizations, organizations.c.id == memberships.c.org_id)
            .where(
                users.c.email == email.strip().lower(),
                users.c.active.is_(True),
                memberships.c.active.is_(True),
                memberships.c.external.is_(False),
            )
            .order_by(memberships.c.id)
            .limit(MAX_MEMBERSHIPS_TRIED)
        )
    )


def credential_of(conn: Connection, *, membership_id: int) -> sa.Row[Any] | None:
    """(membership id, user id, org id, password hash, active) of one membership."""
    return conn.execute(
        sa.select(
            memberships.c.id,
            memberships.c.user_id,
            memberships.c.org_id,
            memberships.c.password_hash,
            sa.and_(memberships.c.active, users.c.active).label("active"),
        )
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.id == membership_id)
    ).first()


def memberships_of_user(conn: Connection, *, user_id: int) -> list[sa.Row[Any]]:
    """Every active organisation a user belongs to (for the organisation switcher)."""
    return list(
        conn.execute(
            sa.select(
                memberships.c.id,
                memberships.c.password_hash,
                organizations.c.slug,
                organizations.c.name,
                memberships.c.role,
            )
            .join(organizations, organizations.c.id == memberships.c.org_id)
            .where(memberships.c.user_id == user_id, memberships.c.active.is_(True))
            .order_by(memberships.c.id)
        )
    )


def set_password(conn: Connection, *, membership_id: int, password_hash: str | None) -> None:
    """The one writer of a credential: set it, and end every session it opened.  An external
    annotator's membership never gets one."""
    if password_hash is not None:
        refuse_external(conn, membership_id=membership_id)
    conn.execute(
        memberships.update().where(memberships.c.id == membership_id).values(password_hash=password_hash)
    )
    end_sessions(conn, membership_id=membership_id)


# --- sessions -------------------------------------------------------------------------------------


def insert_session(conn: Connection, *, values: dict[str, Any]) -> int:
    return int(conn.execute(web_sessions.insert().values(**values).returning(web_sessions.c.id)).one().id)


def session_by_token(conn: Connection, *, token_hash: str, at: datetime) -> sa.Row[Any] | None:
    """A live session with its membership's current credential."""
    return conn.execute(
        sa.select(web_sessions, memberships.c.password_hash)
        .join(memberships, memberships.c.id == web_sessions.c.membership_id)
        .where(web_sessions.c.token_hash == token_hash, web_sessions.c.expires_at > at)
    ).first()


def delete_session(conn: Connection, *, token_hash: str) -> None:
    conn.execute(web_sessions.delete().where(web_sessions.c.token_hash == token_hash))


def end_sessions(conn: Connection, *, membership_id: int) -> int:
    return conn.execute(web_sessions.delete().where(web_sessions.c.membership_id == membership_id)).rowcount


def prune_sessions(conn: Connection, *, membership_id: int, at: datetime) -> None:
    """Forget a membership's expired sessions (done at each sign-in, so the table stays small)."""
    conn.execute(
        web_sessions.delete().where(
            web_sessions.c.membership_id == membership_id, web_sessions.c.expires_at <= at
        )
    )


# --- one-time links -------------------------------------------------------------------------------


def insert_invitation(conn: Connection, *, values: dict[str, Any], at: datetime) -> int:
    """A new link for a membership; any earlier unused link of it stops working (one live link).
    An external annotator's membership is never given one."""
    refuse_external(conn, membership_id=int(values["membership_id"]))
    conn.execute(
        invitations.update()
        .where(invitations.c.membership_id == values["membership_id"], invitations.c.used_at.is_(None))
        .values(used_at=at)
    )
    return int(conn.execute(invitations.insert().values(**values).returning(invitations.c.id)).one().id)


def invitation_by_token(conn: Connection, *, token_hash: str, at: datetime) -> Any:
    """A usable link (unused, unexpired, its membership and user active) with who it is for."""
    return conn.execute(
        sa.select(
            invitations.c.id,
            invitations.c.kind,
            invitations.c.membership_id,
            invitations.c.org_id,
            invitations.c.expires_at,
            users.c.email,
            organizations.c.name.label("org_name"),
            memberships.c.role,
        )
        .join(memberships, memberships.c.id == invitations.c.membership_id)
        .join(users, users.c.id == memberships.c.user_id)
        .join(organizations, organizations.c.id == invitations.c.org_id)
        .where(
            invitations.c.token_hash == token_hash,
            invitations.c.used_at.is_(None),
            invitations.c.expires_at > at,
            memberships.c.active.is_(True),
            users.c.active.is_(True),
        )
    ).first()


def use_invitation(conn: Connection, *, invitation_id: int, at: datetime) -> bool:
    """Spend a link; False when another request spent it first (single use under any race)."""
    result = conn.execute(
        invitations.update()
        .where(
            invitations.c.id == invitation_id,
            invitations.c.used_at.is_(None),
            invitations.c.expires_at > at,
        )
        .values(used_at=at)
    )
    return result.rowcount == 1
