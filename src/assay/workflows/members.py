"""Member administration: invitations, roles, workforces, password resets, tokens (signing in is
``workflows.accounts``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assay.app import Assay
from assay.domain.people import WORKFORCE_KINDS, Actor, Role
from assay.errors import Conflict, Forbidden, Invalid, NotFound
from assay.storage import audit, people
from assay.storage import members as store
from assay.storage import sessions as session_store
from assay.workflows import access, accounts, admin


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


def check_role_change(
    hub: Assay, actor: Actor, *, current: Role | None, new: Role, action: str, object_id: int | None = None
) -> None:
    """The one rule on roles, for every path that grants or changes one (inviting, editing a member):
    only an owner may make someone an owner, or change anything of an owner's membership."""
    if (new is Role.OWNER or current is Role.OWNER) and actor.role is not Role.OWNER:
        access.audit_denial(
            hub, actor=actor, action=action, status=403, object_type="membership", object_id=object_id
        )
        raise Forbidden("only an owner can make someone an owner or change an owner's membership")


@dataclass(frozen=True)
class Invited:
    email: str
    membership_id: int
    link: str  # the one-time link's secret, shown once to the manager to hand over


def invite(
    hub: Assay, actor: Actor, *, email: str, role: str, workforce: str = "", workforce_kind: str = "in_house"
) -> Invited:
    """Add a person to this organisation and make the one-time link through which they set their
    password here.  Someone already a member (active or not) is refused: roles change on the member
    list, under the same rule.  A person who works for another organisation too gets a new
    credential for this one only; nothing of theirs elsewhere is read or changed."""
    access.require(hub, actor, Role.MANAGER, action="members.invite", object_type="membership")
    try:
        parsed = Role.parse(role)
    except ValueError as exc:
        raise Invalid(str(exc), errors=[{"loc": "role", "msg": str(exc)}]) from None
    if workforce_kind not in WORKFORCE_KINDS:
        raise Invalid(f"workforce kind {workforce_kind!r} must be one of {', '.join(WORKFORCE_KINDS)}")
    email = (email or "").strip().lower()
    if not admin.EMAIL.match(email) or len(email) > 320:
        raise Invalid(f"{email!r} is not an email address", errors=[{"loc": "email", "msg": "not an email"}])
    check_role_change(hub, actor, current=None, new=parsed, action="members.invite")
    with hub.db.read() as conn:
        existing = people.find_membership(conn, org_id=actor.org_id, email=email)
    if existing is not None:
        state = "" if existing.active else " (deactivated: reactivate them in the list)"
        raise Conflict(
            f"{email} is already a member of this organisation{state}; change their role in the list",
            errors=[{"loc": "email", "msg": "already a member"}],
        )
    created = admin.create_user(
        hub,
        org=actor.org_slug,
        email=email,
        role=parsed.label,
        workforce=workforce.strip() or None,
        workforce_kind=workforce_kind,
    )
    link = accounts.create_link(
        hub, org_id=actor.org_id, membership_id=created.membership_id, kind="invite", by=actor.user_id
    )
    _record(hub, actor, "members.invite", "membership", created.membership_id)
    return Invited(email=email, membership_id=created.membership_id, link=link)


def reset(hub: Assay, actor: Actor, membership_id: int) -> str:
    """An owner makes a one-time link through which a member of *this* organisation sets a new
    password here (their credential elsewhere is untouched).  Returns the link's secret."""
    access.require(
        hub, actor, Role.OWNER, action="members.reset", object_type="membership", object_id=membership_id
    )
    with hub.db.read() as conn:
        row = store.get_membership(conn, org_id=actor.org_id, membership_id=membership_id)
    if row is None:
        raise access.not_found(
            hub,
            actor,
            NotFound(f"member {membership_id} does not exist"),
            action="members.reset",
            object_type="membership",
            object_id=membership_id,
        )
    link = accounts.create_link(
        hub, org_id=actor.org_id, membership_id=membership_id, kind="reset", by=actor.user_id
    )
    _record(hub, actor, "members.reset", "membership", membership_id)
    return link


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
    check_role_change(
        hub, actor, current=Role.parse(row.role), new=parsed, action="members.update", object_id=membership_id
    )
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
        if not active:
            # Signed-in browsers of a deactivated member stay out even if they are reactivated.
            session_store.end_sessions(conn, membership_id=membership_id)
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
