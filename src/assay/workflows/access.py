"""Authentication and the permission checks every workflow uses.

Denials are audited here, in one place, on their own short transaction so that they are recorded
even when the request itself fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from assay import logs
from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.errors import Forbidden, NotFound, RateLimited, Unauthorized
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
    """Record a refusal, on its own short transaction, and log it.  A client that keeps being
    refused is held to a budget (``assay.throttle``): past it, rows and log lines are folded, and
    the next one written carries how many were (``detail.suppressed``)."""
    address = ip or (actor.ip if actor else None)
    client = (
        f"t:{actor.token_id}"
        if actor and actor.token_id
        else f"m:{actor.membership_id}"
        if actor
        else f"i:{address}"
    )
    folded = hub.throttle.audit(client)
    if folded is None:
        return
    if folded:
        detail = {**(detail or {}), "suppressed": folded}
    logs.refusal(
        action=action,
        status=status,
        ip=address,
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )
    with hub.db.write() as conn:
        audit.record(
            conn,
            action=action,
            allowed=False,
            org_id=actor.org_id if actor else None,
            # The console's operator (``cli.common.operator``) is no user row: user id 0.
            user_id=(actor.user_id or None) if actor else None,
            token_id=actor.token_id if actor else None,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            status=status,
            ip=address,
            detail=detail,
        )


def throttled(hub: Assay, *, ip: str | None, action: str, wait: float) -> RateLimited:
    """The 429 for an address out of authentication attempts, audited (within the row budget)."""
    audit_denial(hub, actor=None, action=action, status=429, ip=ip, detail={"reason": "throttled"})
    return RateLimited(
        f"too many failed authentications from this address; retry after {math.ceil(wait)} s",
        retry_after=math.ceil(wait),
    )


def authenticate(hub: Assay, *, token: str | None, ip: str | None, action: str) -> Actor:
    """The actor behind a bearer token, or 401 (audited) for a missing, unknown or revoked one.

    A token that resolves to nobody counts against the client's address (``Throttle.auth_*``): an
    address out of attempts gets 429 before any lookup, whatever token it sends."""
    wait = hub.throttle.auth_wait(ip)
    if wait > 0:
        raise throttled(hub, ip=ip, action=action, wait=wait)
    if not token:
        audit_denial(hub, actor=None, action=action, status=401, ip=ip, detail={"reason": "no token"})
        raise Unauthorized("authentication required: send `Authorization: Bearer <token>`")
    with hub.db.read() as conn:
        actor = people.actor_for_token(conn, token_hash=hash_token(token))
    if actor is None:
        hub.throttle.auth_failed(ip)
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
    hub: Assay, actor: Actor, error: NotFound, *, action: str, object_type: str, object_id: str | int | None
) -> NotFound:
    """Audit a lookup that found nothing the actor may see; return the error to raise."""
    audit_denial(hub, actor=actor, action=action, status=404, object_type=object_type, object_id=object_id)
    return error


def _shared_project(actor: Actor, settings: dict[str, Any]) -> bool:
    """Whether the project itself (its unbatched items) is shared with the actor's workforce."""
    shared = settings.get("workforces") or []
    if not shared:
        return True
    if actor.workforce_name is None:
        # An in-house reviewer with no workforce reviews every compartment; an annotator needs one.
        return actor.role is Role.REVIEWER
    return actor.workforce_name in shared


@dataclass(frozen=True, slots=True)
class BatchScope:
    """Which item batches of one project an actor sees.

    ``only`` set: just the items of those batches (a workforce that was given a batch of a project
    not otherwise shared with it).  ``only`` None: every item except those of the ``hidden``
    batches (batches that ``settings.batches`` shares with other workforces only).
    """

    only: frozenset[str] | None
    hidden: frozenset[str]

    @property
    def everything(self) -> bool:
        return self.only is None and not self.hidden

    def allows(self, batch: str | None) -> bool:
        if self.only is not None:
            return batch is not None and batch in self.only
        return batch is None or batch not in self.hidden


EVERYTHING = BatchScope(None, frozenset())


def sees_every_batch(actor: Actor) -> bool:
    """Owners, managers and in-house reviewers with no workforce: no batch is ever hidden from them."""
    return actor.at_least(Role.MANAGER) or (actor.workforce_name is None and actor.role is Role.REVIEWER)


def batch_scope(actor: Actor, settings: dict[str, Any]) -> BatchScope:
    """The actor's view of a project's batches: a batch listed in ``settings.batches`` is shared
    only with the workforces listed for it; every other item follows the project's ``workforces``.
    """
    if sees_every_batch(actor):
        return EVERYTHING
    batches: dict[str, list[str]] = settings.get("batches") or {}
    mine = frozenset(b for b, names in batches.items() if actor.workforce_name in names)
    if not _shared_project(actor, settings):
        return BatchScope(mine, frozenset())
    return BatchScope(None, frozenset(batches) - mine)


def can_see_project(actor: Actor, settings: dict[str, Any]) -> bool:
    """Owners and managers see every project; a member with a workforce sees only what is shared
    with it: the project, or at least one batch of its items."""
    if actor.at_least(Role.MANAGER) or _shared_project(actor, settings):
        return True
    return bool(batch_scope(actor, settings).only)
