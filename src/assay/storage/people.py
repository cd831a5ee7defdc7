"""Organisations, users, workforces, memberships, skills and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.domain.people import Actor, Role
from assay.errors import Conflict, NotFound
from assay.storage.tables import (
    api_tokens,
    membership_skills,
    memberships,
    organizations,
    skills,
    users,
    workforces,
)


def now() -> datetime:
    return datetime.now(UTC)


def create_org(conn: Connection, *, slug: str, name: str) -> int:
    if conn.execute(sa.select(organizations.c.id).where(organizations.c.slug == slug)).first():
        raise Conflict(f"organisation {slug!r} already exists")
    row = conn.execute(
        organizations.insert().values(slug=slug, name=name, created_at=now()).returning(organizations.c.id)
    ).one()
    return int(row.id)


def org_by_slug(conn: Connection, *, slug: str) -> sa.Row[Any]:
    row = conn.execute(sa.select(organizations).where(organizations.c.slug == slug)).first()
    if row is None:
        raise NotFound(f"organisation {slug!r} does not exist")
    return row


def user_by_email(conn: Connection, *, email: str) -> sa.Row[Any] | None:
    return conn.execute(sa.select(users).where(users.c.email == email.strip().lower())).first()


def upsert_user(conn: Connection, *, email: str, name: str) -> int:
    """The user with this email, created if new.  A user row is shared by every organisation the
    person works for, so it holds no credential: passwords belong to memberships."""
    existing = user_by_email(conn, email=email)
    if existing is not None:
        return int(existing.id)
    row = conn.execute(
        users.insert().values(email=email.strip().lower(), name=name, created_at=now()).returning(users.c.id)
    ).one()
    return int(row.id)


def workforce_by_name(conn: Connection, *, org_id: int, name: str) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(workforces).where(workforces.c.org_id == org_id, workforces.c.name == name)
    ).first()


def ensure_workforce(conn: Connection, *, org_id: int, name: str, kind: str = "in_house") -> int:
    row = workforce_by_name(conn, org_id=org_id, name=name)
    if row is not None:
        return int(row.id)
    inserted = conn.execute(
        workforces.insert()
        .values(org_id=org_id, name=name, kind=kind, created_at=now())
        .returning(workforces.c.id)
    ).one()
    return int(inserted.id)


def list_workforces(conn: Connection, *, org_id: int) -> list[sa.Row[Any]]:
    return list(
        conn.execute(sa.select(workforces).where(workforces.c.org_id == org_id).order_by(workforces.c.id))
    )


EXTERNAL = (
    "is an external annotator (their answers were imported from a delivery): they can never sign in, "
    "hold a token or be invited"
)


def refuse_external(conn: Connection, *, membership_id: int) -> None:
    """Conflict when the membership stands for a vendor's external annotator.  Every writer of a
    way in (a token, a password, a one-time link, a membership of the same person) calls this, so
    no path can open one."""
    row = conn.execute(
        sa.select(users.c.email)
        .join(memberships, memberships.c.user_id == users.c.id)
        .where(memberships.c.id == membership_id, memberships.c.external.is_(True))
    ).first()
    if row is not None:
        raise Conflict(f"{row.email} {EXTERNAL}")


def upsert_membership(
    conn: Connection, *, org_id: int, user_id: int, role: Role, workforce_id: int | None
) -> int:
    # An external annotator's user row belongs to their one external membership: nobody can be
    # made a member (here or in another organisation) under that identity.
    external = conn.execute(
        sa.select(memberships.c.id).where(memberships.c.user_id == user_id, memberships.c.external.is_(True))
    ).first()
    if external is not None:
        refuse_external(conn, membership_id=int(external.id))
    existing = conn.execute(
        sa.select(memberships.c.id).where(memberships.c.org_id == org_id, memberships.c.user_id == user_id)
    ).first()
    if existing is not None:
        conn.execute(
            memberships.update()
            .where(memberships.c.id == existing.id)
            .values(role=role.label, workforce_id=workforce_id, active=True)
        )
        return int(existing.id)
    row = conn.execute(
        memberships.insert()
        .values(org_id=org_id, user_id=user_id, role=role.label, workforce_id=workforce_id, created_at=now())
        .returning(memberships.c.id)
    ).one()
    return int(row.id)


def find_membership(conn: Connection, *, org_id: int, email: str) -> Any:
    """This organisation's membership of the person with this email, if any (active or not)."""
    return conn.execute(
        sa.select(memberships.c.id, memberships.c.role, memberships.c.active)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.org_id == org_id, users.c.email == email.strip().lower())
    ).first()


def membership_of(conn: Connection, *, org_id: int, email: str) -> Any:
    row = conn.execute(
        sa.select(memberships.c.id, memberships.c.user_id, memberships.c.active, memberships.c.role)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.org_id == org_id, users.c.email == email.strip().lower())
    ).first()
    if row is None:
        raise NotFound(f"{email} is not a member of this organisation")
    return row


def set_membership_active(conn: Connection, *, org_id: int, membership_id: int, active: bool) -> None:
    conn.execute(
        memberships.update()
        .where(memberships.c.org_id == org_id, memberships.c.id == membership_id)
        .values(active=active)
    )


def grant_skill(conn: Connection, *, org_id: int, membership_id: int, skill: str, source: str) -> None:
    row = conn.execute(
        sa.select(skills.c.id).where(skills.c.org_id == org_id, skills.c.name == skill)
    ).first()
    skill_id = (
        int(row.id)
        if row
        else int(
            conn.execute(skills.insert().values(org_id=org_id, name=skill).returning(skills.c.id)).one().id
        )
    )
    exists = conn.execute(
        sa.select(membership_skills.c.skill_id).where(
            membership_skills.c.membership_id == membership_id, membership_skills.c.skill_id == skill_id
        )
    ).first()
    if exists is None:
        conn.execute(
            membership_skills.insert().values(
                org_id=org_id, membership_id=membership_id, skill_id=skill_id, source=source, granted_at=now()
            )
        )


def insert_token(
    conn: Connection, *, org_id: int, membership_id: int, token_hash: str, prefix: str, name: str
) -> int:
    refuse_external(conn, membership_id=membership_id)
    row = conn.execute(
        api_tokens.insert()
        .values(
            org_id=org_id,
            membership_id=membership_id,
            token_hash=token_hash,
            prefix=prefix,
            name=name,
            created_at=now(),
        )
        .returning(api_tokens.c.id)
    ).one()
    return int(row.id)


def revoke_token(conn: Connection, *, org_id: int, token_id: int) -> bool:
    result = conn.execute(
        api_tokens.update()
        .where(api_tokens.c.org_id == org_id, api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return result.rowcount > 0


def _actor_query() -> sa.Select[Any]:
    return (
        sa.select(
            users.c.id.label("user_id"),
            users.c.email,
            users.c.name,
            users.c.active.label("user_active"),
            organizations.c.id.label("org_id"),
            organizations.c.slug,
            memberships.c.id.label("membership_id"),
            memberships.c.role,
            memberships.c.active.label("membership_active"),
            memberships.c.external,
            memberships.c.workforce_id,
            workforces.c.name.label("workforce_name"),
        )
        .select_from(memberships)
        .join(users, users.c.id == memberships.c.user_id)
        .join(organizations, organizations.c.id == memberships.c.org_id)
        .outerjoin(workforces, workforces.c.id == memberships.c.workforce_id)
    )


def _skills_of(conn: Connection, membership_id: int) -> frozenset[str]:
    rows = conn.execute(
        sa.select(skills.c.name)
        .join(membership_skills, membership_skills.c.skill_id == skills.c.id)
        .where(membership_skills.c.membership_id == membership_id)
    )
    return frozenset(r.name for r in rows)


def _to_actor(conn: Connection, row: sa.Row[Any], token_id: int | None) -> Actor | None:
    if not row.user_active or not row.membership_active or row.external:
        return None
    return Actor(
        user_id=int(row.user_id),
        email=row.email,
        name=row.name,
        org_id=int(row.org_id),
        org_slug=row.slug,
        membership_id=int(row.membership_id),
        role=Role.parse(row.role),
        workforce_id=row.workforce_id,
        workforce_name=row.workforce_name,
        skills=_skills_of(conn, int(row.membership_id)),
        token_id=token_id,
    )


def actor_for_token(conn: Connection, *, token_hash: str) -> Actor | None:
    """The actor behind a live token; revoked tokens and inactive memberships resolve to nobody."""
    row = conn.execute(
        _actor_query()
        .add_columns(api_tokens.c.id.label("token_id"))
        .join(api_tokens, api_tokens.c.membership_id == memberships.c.id)
        .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    return _to_actor(conn, row, int(row.token_id))


def actor_for_membership(conn: Connection, *, membership_id: int) -> Actor | None:
    row = conn.execute(_actor_query().where(memberships.c.id == membership_id)).first()
    return None if row is None else _to_actor(conn, row, None)


def list_members(conn: Connection, *, org_id: int) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(
                memberships.c.id,
                users.c.email,
                users.c.name,
                memberships.c.role,
                memberships.c.active,
                memberships.c.password_hash.is_not(None).label("has_password"),
                memberships.c.external,
                workforces.c.name.label("workforce"),
            )
            .join(users, users.c.id == memberships.c.user_id)
            .outerjoin(workforces, workforces.c.id == memberships.c.workforce_id)
            .where(memberships.c.org_id == org_id)
            .order_by(memberships.c.id)
        )
    )


def org_slugs(conn: Connection) -> list[str]:
    return [r.slug for r in conn.execute(sa.select(organizations.c.slug).order_by(organizations.c.id))]
