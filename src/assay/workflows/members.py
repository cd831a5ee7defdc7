"""Signing in, and member administration from the web pages: invite, roles, workforces, tokens."""

from __future__ import annotations

from typing import Any

from assay.app import Assay
from assay.domain.people import WORKFORCE_KINDS, Actor, Role
from assay.errors import Forbidden, Invalid, NotFound, Unauthorized
from assay.security import new_password, verify_password
from assay.storage import audit, people
from assay.storage import members as store
from assay.storage import sessions as session_store
from assay.workflows import access, admin


def login(hub: Assay, *, email: str, password: str, ip: str | None) -> tuple[int, str | None]:
    """(membership id, password hash) for a right email and password; 401 otherwise (same words either way)."""
    email = (email or "").strip().lower()
    with hub.db.read() as conn:
        rows = session_store.login_rows(conn, email=email)
    stored = rows[0].password_hash if rows else None
    # verify_password spends an argon2 hash even for unknown emails, so timing reveals nothing.
    if not verify_password(stored, password or "") or not rows:
        access.audit_denial(
            hub, actor=None, action="session.login", status=401, ip=ip, detail={"email": email[:320]}
        )
        raise Unauthorized("wrong email or password")
    with hub.db.write() as conn:
        audit.record(
            conn,
            action="session.login",
            allowed=True,
            org_id=None,
            user_id=int(rows[0].user_id),
            token_id=None,
            object_type=None,
            object_id=None,
            status=200,
            ip=ip,
            detail=None,
        )
    return int(rows[0].membership_id), stored


def organisations(hub: Assay, actor: Actor) -> list[dict[str, Any]]:
    with hub.db.read() as conn:
        rows = session_store.memberships_of_user(conn, user_id=actor.user_id)
    return [{"membership_id": int(r.id), "slug": r.slug, "name": r.name, "role": r.role} for r in rows]


def _record(hub: Assay, actor: Actor, action: str, object_type: str, object_id: int) -> None:
    with hub.db.write() as conn:
        audit.record(
            conn,
            action=action,
            allowed=True,
            org_id=actor.org_id,
            user_id=actor.user_id,
            token_id=actor.token_id,
            object_type=object_type,
            object_id=str(object_id),
            status=200,
            ip=actor.ip,
            detail=None,
        )


def overview(hub: Assay, actor: Actor) -> dict[str, Any]:
    access.require(hub, actor, Role.MANAGER, action="members.read")
    with hub.db.read() as conn:
        members = people.list_members(conn, org_id=actor.org_id)
        forces = people.list_workforces(conn, org_id=actor.org_id)
        tokens = store.list_tokens(conn, org_id=actor.org_id)
    return {"members": members, "workforces": forces, "tokens": tokens}


def _check_role_change(hub: Assay, actor: Actor, role: Role, action: str) -> None:
    if role is Role.OWNER and actor.role is not Role.OWNER:
        access.audit_denial(hub, actor=actor, action=action, status=403, object_type="membership")
        raise Forbidden("only an owner can make someone an owner")


def invite(
    hub: Assay, actor: Actor, *, email: str, role: str, workforce: str = "", workforce_kind: str = "in_house"
) -> str | None:
    """Add a member; returns a first password to hand over, or None when the person already has one."""
    access.require(hub, actor, Role.MANAGER, action="members.invite", object_type="membership")
    try:
        parsed = Role.parse(role)
    except ValueError as exc:
        raise Invalid(str(exc), errors=[{"loc": "role", "msg": str(exc)}]) from None
    if workforce_kind not in WORKFORCE_KINDS:
        raise Invalid(f"workforce kind {workforce_kind!r} must be one of {', '.join(WORKFORCE_KINDS)}")
    _check_role_change(hub, actor, parsed, "members.invite")
    with hub.db.read() as conn:
        existing = people.user_by_email(conn, email=email)
    # An existing user (say, a vendor annotator who works for another lab too) keeps their password.
    password = None if existing is not None and existing.password_hash else new_password()
    created = admin.create_user(
        hub,
        org=actor.org_slug,
        email=email,
        role=parsed.label,
        workforce=workforce.strip() or None,
        workforce_kind=workforce_kind,
        password=password,
    )
    _record(hub, actor, "members.invite", "membership", created.membership_id)
    return password


def update(hub: Assay, actor: Actor, membership_id: int, *, role: str, workforce: str, active: bool) -> None:
    access.require(hub, actor, Role.MANAGER, action="members.update", object_type="membership")
    try:
        parsed = Role.parse(role)
    except ValueError as exc:
        raise Invalid(str(exc), errors=[{"loc": "role", "msg": str(exc)}]) from None
    with hub.db.read() as conn:
        row = store.get_membership(conn, org_id=actor.org_id, membership_id=membership_id)
        forces = {w.name: int(w.id) for w in people.list_workforces(conn, org_id=actor.org_id)}
    if row is None:
        raise access.not_found(
            hub,
            actor,
            NotFound(f"member {membership_id} does not exist"),
            action="members.update",
            object_type="membership",
            object_id=membership_id,
        )
    if Role.parse(row.role) is Role.OWNER or parsed is Role.OWNER:
        _check_role_change(hub, actor, Role.OWNER, "members.update")
    if membership_id == actor.membership_id and (not active or parsed < actor.role):
        raise Invalid("you cannot deactivate or demote yourself; ask another manager")
    name = workforce.strip()
    if name and name not in forces:
        raise Invalid(
            f"workforce {name!r} does not exist; choose one of {', '.join(sorted(forces)) or '(none)'}",
            errors=[{"loc": "workforce", "msg": "unknown workforce"}],
        )
    with hub.db.write() as conn:
        store.update_membership(
            conn,
            org_id=actor.org_id,
            membership_id=membership_id,
            role=parsed.label,
            workforce_id=forces[name] if name else None,
            active=active,
        )
    _record(hub, actor, "members.update", "membership", membership_id)


def revoke_token(hub: Assay, actor: Actor, token_id: int) -> None:
    """Revoke an API token; it stops working on its next request."""
    access.require(hub, actor, Role.MANAGER, action="token.revoke", object_type="token", object_id=token_id)
    with hub.db.write() as conn:
        done = people.revoke_token(conn, org_id=actor.org_id, token_id=token_id)
    if not done:
        raise access.not_found(
            hub,
            actor,
            NotFound(f"token {token_id} does not exist or is already revoked"),
            action="token.revoke",
            object_type="token",
            object_id=token_id,
        )
    _record(hub, actor, "token.revoke", "token", token_id)


def switch_to(hub: Assay, actor: Actor, membership_id: int) -> tuple[int, str | None] | None:
    """(membership id, password hash) of another organisation of the same user, or None if not theirs."""
    with hub.db.read() as conn:
        mine = {int(r.id) for r in session_store.memberships_of_user(conn, user_id=actor.user_id)}
        if membership_id not in mine:
            return None
        return membership_id, session_store.password_hash_of(conn, user_id=actor.user_id)
