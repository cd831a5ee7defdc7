"""Operator tasks run from the CLI on the server machine: organisations, users and tokens.

These trust their caller (whoever can run the CLI can read the database anyway); the API's own
member and token endpoints go through the role checks in ``access``.
"""

from __future__ import annotations

from dataclasses import dataclass

from assay import patterns
from assay.app import Assay
from assay.domain.people import WORKFORCE_KINDS, Role
from assay.errors import Conflict, Invalid, NotFound
from assay.limits import check_name
from assay.security import check_password, hash_password, hash_token, new_token, token_display_prefix
from assay.storage import people, sessions

MAX_NAME = 200  # organisation and user names (their columns' width)
MAX_WORKFORCE = 100
MAX_EMAIL = 320
SLUG = patterns.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
EMAIL = patterns.compile(r"^[^@\s]+@[^@\s]+$")


def create_org(hub: Assay, *, slug: str, name: str | None = None) -> int:
    if not SLUG.match(slug):
        raise Invalid(f"organisation slug {slug!r} must be lowercase letters, digits and dashes (at most 63)")
    org_name = check_name(name if name is not None else slug, where="organisation name", max_len=MAX_NAME)
    with hub.db.write() as conn:
        return people.create_org(conn, slug=slug, name=org_name)


@dataclass(frozen=True)
class CreatedUser:
    user_id: int
    membership_id: int
    workforce_id: int | None


def create_user(
    hub: Assay,
    *,
    org: str,
    email: str,
    role: str,
    name: str | None = None,
    workforce: str | None = None,
    workforce_kind: str = "in_house",
    password: str | None = None,
) -> CreatedUser:
    """Create (or update) a user and their membership in ``org``; the workforce is created if it is
    new.  ``password`` sets the credential of this membership only (never another organisation's)."""
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > MAX_EMAIL:
        raise Invalid(f"{email!r} is not an email address")
    display_name = check_name(
        name if name is not None else email.split("@")[0], where="user name", max_len=MAX_NAME
    )
    if workforce:
        workforce = check_name(workforce, where="workforce name", max_len=MAX_WORKFORCE)
    try:
        parsed_role = Role.parse(role)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if workforce_kind not in WORKFORCE_KINDS:
        raise Invalid(f"workforce kind {workforce_kind!r} must be one of {', '.join(WORKFORCE_KINDS)}")
    if password is not None:
        try:
            check_password(password)
        except ValueError as exc:
            raise Invalid(str(exc), errors=[{"loc": "password", "msg": str(exc)}]) from None
    pw_hash = hash_password(password) if password is not None else None
    with hub.db.write() as conn:
        org_row = people.org_by_slug(conn, slug=org)
        workforce_id = None
        if workforce:
            workforce_id = people.ensure_workforce(
                conn, org_id=org_row.id, name=workforce, kind=workforce_kind
            )
        user_id = people.upsert_user(conn, email=email, name=display_name)
        membership_id = people.upsert_membership(
            conn, org_id=org_row.id, user_id=user_id, role=parsed_role, workforce_id=workforce_id
        )
        if pw_hash is not None:
            # This membership's credential only: the operator sets a password for one organisation.
            sessions.set_password(conn, membership_id=membership_id, password_hash=pw_hash)
    return CreatedUser(user_id=user_id, membership_id=membership_id, workforce_id=workforce_id)


def create_token(hub: Assay, *, org: str, email: str, name: str = "cli") -> str:
    """A new API token for a member; only its hash is stored, so this is the one time it is seen."""
    token = new_token()
    with hub.db.write() as conn:
        org_row = people.org_by_slug(conn, slug=org)
        member = people.membership_of(conn, org_id=org_row.id, email=email)
        if not member.active:
            raise NotFound(f"{email} is not an active member of {org}")
        people.insert_token(
            conn,
            org_id=org_row.id,
            membership_id=member.id,
            token_hash=hash_token(token),
            prefix=token_display_prefix(token),
            name=name,
        )
    return token


def revoke_token(hub: Assay, *, org: str, token_id: int) -> None:
    with hub.db.write() as conn:
        org_row = people.org_by_slug(conn, slug=org)
        if not people.revoke_token(conn, org_id=org_row.id, token_id=token_id):
            raise NotFound(f"token {token_id} does not exist or is already revoked")


def link(hub: Assay, *, org: str, email: str, kind: str) -> str:
    """A one-time link's secret through which a member of ``org`` sets their password there: an
    invitation (``invite``) or a reset (``reset``).  The operator hands it over; it opens ``org``
    only, whatever other organisations the person belongs to."""
    from assay.workflows import accounts

    with hub.db.read() as conn:
        org_row = people.org_by_slug(conn, slug=org)
        member = people.membership_of(conn, org_id=org_row.id, email=email)
        if not member.active:
            raise NotFound(f"{email} is not an active member of {org}")
        credential = sessions.credential_of(conn, membership_id=int(member.id))
    if kind == "invite" and credential is not None and credential.password_hash:
        raise Conflict(f"{email} already has a password in {org}; make a reset link instead")
    return accounts.create_link(hub, org_id=int(org_row.id), membership_id=int(member.id), kind=kind, by=None)
