"""Authentication and the permission checks every workflow uses.

Denials are audited here, in one place, on their own short transaction so that they are recorded
even when the request itself fails.
"""

from __future__ import annotations

from typing import Any

from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.errors import Forbidden, NotFound, Unauthorized
from assay.security import hash_token
from assay.storage import audit, people


def audit_denial(
    hub: Assay,
    *,
    actor: Actor | None,
    action: str,
    status: int,
    object_type: str | None = None,
    object_id: str | int | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    with hub.db.write() as conn:
        audit.record(
            conn,
            action=action,
            allowed=False,
            org_id=actor.org_id if actor else None,
            user_id=actor.user_id if actor else None,
            token_id=actor.token_id if actor else None,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            status=status,
            ip=ip or (actor.ip if actor else None),
            detail=detail,
        )


def authenticate(hub: Assay, *, token: str | None, ip: str | None, action: str) -> Actor:
    """The actor behind a bearer token, or 401 (audited) for a missing, unknown or revoked one."""
    if not token:
        audit_denial(hub, actor=None, action=action, status=401, ip=ip, detail={"reason": "no token"})
        raise Unauthorized("authentication required: send `Authorization: Bearer <token>`")
    with hub.db.read() as conn:
        actor = people.actor_for_token(conn, token_hash=hash_token(token))
    if actor is None:
        audit_denial(hub, actor=None, action=action, status=401, ip=ip, detail={"reason": "bad token"})
        raise Unauthorized("the token is unknown or revoked")
    return Actor(**{**_fields(actor), "ip": ip})


def _fields(actor: Actor) -> dict[str, Any]:
    return {name: getattr(actor, name) for name in actor.__slots__}


def require(
    hub: Assay,
    actor: Actor,
    role: Role,
    *,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
) -> None:
    """403 (audited) unless the actor has at least ``role`` in their organisation."""
    if not actor.at_least(role):
        audit_denial(
            hub, actor=actor, action=action, status=403, object_type=object_type, object_id=object_id
        )
        raise Forbidden(f"this needs the {role.label} role or above; you are {actor.role.label}")


def not_found(
    hub: Assay, actor: Actor, error: NotFound, *, action: str, object_type: str, object_id: str | int
) -> NotFound:
    """Audit a lookup that found nothing the actor may see; return the error to raise."""
    audit_denial(hub, actor=actor, action=action, status=404, object_type=object_type, object_id=object_id)
    return error


def can_see_project(actor: Actor, settings: dict[str, Any]) -> bool:
    """Owners and managers see every project; a member with a workforce sees only what is shared with it."""
    if actor.at_least(Role.MANAGER):
        return True
    shared = settings.get("workforces") or []
    if not shared:
        return True
    if actor.workforce_name is None:
        # An in-house reviewer with no workforce reviews every compartment; an annotator needs one.
        return actor.role is Role.REVIEWER
    return actor.workforce_name in shared
