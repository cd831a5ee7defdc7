"""Signing in, one-time links, password changes and switching organisations.

The rule these keep: **no action of one organisation changes a person's credentials, sessions or
memberships in another.**  A credential belongs to one membership; an invitation or a reset sets the
password of the membership it was made for, and ends that membership's sessions only.  A person
who works for two labs signs in with either lab's password; a sign-in remembers which of their
memberships the password opened, and switching to any other asks for that organisation's password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from assay.app import Assay
from assay.domain.people import Actor
from assay.errors import Conflict, Invalid, NotFound, Unauthorized
from assay.security import (
    check_password,
    fingerprint,
    hash_password,
    hash_token,
    new_link_token,
    verify_password,
)
from assay.storage import audit
from assay.storage import sessions as store
from assay.storage.people import now
from assay.workflows import access

LINK_LIFETIME = {"invite": timedelta(days=7), "reset": timedelta(hours=24)}


@dataclass(frozen=True)
class SignIn:
    """Who signed in: the membership the session is bound to, and every membership (with its
    credential's fingerprint) the password opened."""

    membership_id: int
    proven: tuple[tuple[int, str], ...]


def _allowed(
    hub: Assay, *, action: str, org_id: int | None, user_id: int | None, ip: str | None, **kw: Any
) -> None:
    with hub.db.write() as conn:
        audit.record(
            conn,
            action=action,
            allowed=True,
            org_id=org_id,
            user_id=user_id,
            token_id=None,
            object_type=kw.get("object_type"),
            object_id=None if kw.get("object_id") is None else str(kw["object_id"]),
            status=200,
            ip=ip,
            detail=kw.get("detail"),
        )


def login(hub: Assay, *, email: str, password: str, ip: str | None) -> SignIn:
    """The memberships a right email and password open; 401 otherwise (the same words either way).

    The password is checked against each of the person's organisations (at most
    ``storage.sessions.MAX_MEMBERSHIPS_TRIED``): each has its own credential.  An unknown email
    spends one argon2 hash all the same, so timing does not reveal whether an account exists.
    """
    email = (email or "").strip().lower()
    with hub.db.read() as conn:
        rows = store.login_rows(conn, email=email)
    password = password or ""
    if not rows:
        verify_password(None, password)
    matched = [r for r in rows if verify_password(r.password_hash, password)]
    if not matched:
        access.audit_denial(
            hub, actor=None, action="session.login", status=401, ip=ip, detail={"email": email[:320]}
        )
        raise Unauthorized("wrong email or password")
    chosen = matched[0]
    _allowed(hub, action="session.login", org_id=int(chosen.org_id), user_id=int(chosen.user_id), ip=ip)
    proven = tuple((int(r.membership_id), fingerprint(r.password_hash)) for r in matched)
    return SignIn(int(chosen.membership_id), proven)


def organisations(hub: Assay, actor: Actor) -> list[dict[str, Any]]:
    """The organisations the signed-in person belongs to, for the switcher."""
    with hub.db.read() as conn:
        rows = store.memberships_of_user(conn, user_id=actor.user_id)
    return [{"membership_id": int(r.id), "slug": r.slug, "name": r.name, "role": r.role} for r in rows]


def switch_to(
    hub: Assay, actor: Actor, *, proven: tuple[tuple[int, str], ...], membership_id: int, password: str | None
) -> SignIn | None:
    """Move a session to another organisation of the same person, re-checked here: the target must
    be an active membership of this user, and either the sign-in proved its current credential or
    ``password`` opens it.  None: not allowed (a password is needed, or it was wrong); the caller
    asks for the password.  A membership of someone else answers exactly like a wrong password."""
    with hub.db.read() as conn:
        target = store.credential_of(conn, membership_id=membership_id)
    if target is None or not target.active or int(target.user_id) != actor.user_id:
        if password:
            verify_password(None, password)  # the same time as a real check
        return None
    current = fingerprint(target.password_hash)
    known = dict(proven)
    if target.password_hash and known.get(membership_id) == current:
        return SignIn(membership_id, proven)
    if password and verify_password(target.password_hash, password):
        merged = {**known, membership_id: current}
        _allowed(hub, action="session.switch", org_id=int(target.org_id), user_id=actor.user_id, ip=actor.ip)
        return SignIn(membership_id, tuple(merged.items()))
    if password:
        access.audit_denial(
            hub,
            actor=actor,
            action="session.switch",
            status=401,
            object_type="membership",
            object_id=membership_id,
        )
    return None


def change_password(
    hub: Assay, actor: Actor, *, current: str, new: str, everywhere: bool = False
) -> list[int]:
    """Change one's own password: the current one must be right.  ``everywhere`` changes it too in
    each other organisation of the person whose credential the current password opens (the person
    proves each of them; nothing changes where it does not).  Every session of each changed
    membership ends; returns the membership ids changed (the caller signs the browser in again)."""
    try:
        check_password(new)
    except ValueError as exc:
        raise Invalid(str(exc), errors=[{"loc": "new_password", "msg": str(exc)}]) from None
    with hub.db.read() as conn:
        mine = store.credential_of(conn, membership_id=actor.membership_id)
        others = store.memberships_of_user(conn, user_id=actor.user_id) if everywhere else []
    if mine is None or not verify_password(mine.password_hash, current or ""):
        access.audit_denial(
            hub, actor=actor, action="account.password", status=401, object_type="membership",
            object_id=actor.membership_id,
        )  # fmt: skip
        raise Unauthorized("the current password is wrong")
    changed = [actor.membership_id] + [
        int(r.id)
        for r in others
        if int(r.id) != actor.membership_id and verify_password(r.password_hash, current)
    ]
    hashed = {m: hash_password(new) for m in changed}  # each credential salted on its own
    with hub.db.write() as conn:
        for membership_id, value in hashed.items():
            store.set_password(conn, membership_id=membership_id, password_hash=value)
    _allowed(
        hub,
        action="account.password",
        org_id=actor.org_id,
        user_id=actor.user_id,
        ip=actor.ip,
        object_type="membership",
        object_id=actor.membership_id,
        detail={"memberships": len(changed)},
    )
    return changed


def create_link(hub: Assay, *, org_id: int, membership_id: int, kind: str, by: int | None) -> str:
    """A one-time link's secret for one membership (shown once; only its hash is stored).  Any
    earlier unused link of that membership stops working."""
    token = new_link_token()
    at = now()
    with hub.db.write() as conn:
        store.insert_invitation(
            conn,
            values={
                "org_id": org_id,
                "membership_id": membership_id,
                "kind": kind,
                "token_hash": hash_token(token),
                "created_by": by or None,
                "created_at": at,
                "expires_at": at + LINK_LIFETIME[kind],
            },
            at=at,
        )
    return token


def link_path(token: str) -> str:
    return f"/invitations/{token}"


def read_link(hub: Assay, token: str) -> dict[str, Any]:
    """What a usable link is for (to show on its page); 404 for an unknown, used or expired one."""
    with hub.db.read() as conn:
        row = store.invitation_by_token(conn, token_hash=hash_token(token), at=now())
    if row is None:
        raise NotFound("this link is unknown, expired or already used; ask for a new one")
    return {
        "kind": row.kind,
        "email": row.email,
        "organisation": row.org_name,
        "role": row.role,
        "expires_at": row.expires_at,
    }


def use_link(hub: Assay, token: str, *, password: str, ip: str | None) -> SignIn:
    """Set the password of the link's membership (and only that one), spend the link, end that
    membership's sessions; the person is then signed in there."""
    try:
        check_password(password)
    except ValueError as exc:
        raise Invalid(str(exc), errors=[{"loc": "password", "msg": str(exc)}]) from None
    hashed = hash_password(password)
    at = now()
    with hub.db.write() as conn:
        row = store.invitation_by_token(conn, token_hash=hash_token(token), at=at)
        if row is None:
            raise NotFound("this link is unknown, expired or already used; ask for a new one")
        if not store.use_invitation(conn, invitation_id=int(row.id), at=at):
            raise Conflict("this link was used a moment ago; ask for a new one")
        store.set_password(conn, membership_id=int(row.membership_id), password_hash=hashed)
        user = store.credential_of(conn, membership_id=int(row.membership_id))
    assert user is not None
    _allowed(
        hub,
        action=f"account.{row.kind}",
        org_id=int(row.org_id),
        user_id=int(user.user_id),
        ip=ip,
        object_type="membership",
        object_id=int(row.membership_id),
    )
    return SignIn(int(row.membership_id), ((int(row.membership_id), fingerprint(hashed)),))
