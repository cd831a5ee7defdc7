"""Answers given outside assay (a vendor's delivery): external members and the imported answers.

An imported answer is stored exactly as a submitted one: an assignment in state ``submitted`` (one
per item and annotator, ever, as for everyone) and its annotation, through ``leases``, and it is
counted by ``counters`` (``delivered`` for the cap, ``answered`` for the answer), the one writer of
the item counters.  So overlap, exports, quality and the vendor comparison see no difference.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.domain.people import Role
from assay.storage import counters, leases
from assay.storage.engine import in_chunks
from assay.storage.people import now
from assay.storage.projects import live
from assay.storage.tables import annotations as annotations_t
from assay.storage.tables import assignments, items, memberships, users

EXTERNAL_DOMAIN = "external.invalid"  # RFC 2606: no mail is ever delivered to it


class Existing(NamedTuple):
    """An answer already stored for an (item, annotator) or a key: what a re-import compares."""

    item_id: int
    user_id: int
    key: str | None
    request_hash: str


def external_members(
    conn: Connection, *, org_id: int, workforce_id: int, names: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """name → (user id, membership id) of the workforce's external members with these names."""
    found: dict[str, tuple[int, int]] = {}
    for chunk in in_chunks(list(names)):
        rows = conn.execute(
            sa.select(memberships.c.external_name, memberships.c.user_id, memberships.c.id).where(
                memberships.c.org_id == org_id,
                memberships.c.workforce_id == workforce_id,
                memberships.c.external_name.in_(chunk),
            )
        )
        found.update({r.external_name: (int(r.user_id), int(r.id)) for r in rows})
    return found


def external_email(*, org_id: int, workforce_id: int, name: str) -> str:
    """The user row's email of an external member: readable, unique, and never a real address (the
    name alone could be anyone's, and users are shared across organisations)."""
    digest = hashlib.sha256(f"{org_id}/{workforce_id}/{name}".encode()).hexdigest()[:12]
    local = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in name.lower())
    local = local.strip("-.")[:40] or "annotator"
    return f"{local}+{digest}@w{workforce_id}.{EXTERNAL_DOMAIN}"


def add_external_member(conn: Connection, *, org_id: int, workforce_id: int, name: str) -> tuple[int, int]:
    """A new annotator of the workforce known only by ``name``: no password, no token, ever."""
    at = now()
    email = external_email(org_id=org_id, workforce_id=workforce_id, name=name)
    try:
        user = conn.execute(
            users.insert().values(email=email, name=name, created_at=at).returning(users.c.id)
        ).one()
    except sa.exc.IntegrityError:  # a concurrent import created them a moment ago
        raise leases.DuplicateAnswer() from None
    member = conn.execute(
        memberships.insert()
        .values(
            org_id=org_id,
            user_id=user.id,
            role=Role.ANNOTATOR.label,
            workforce_id=workforce_id,
            external=True,
            external_name=name,
            created_at=at,
        )
        .returning(memberships.c.id)
    ).one()
    return int(user.id), int(member.id)


def project_items(
    conn: Connection,
    *,
    org_id: int,
    project_id: int,
    item_ids: Iterable[int] = (),
    external_ids: Iterable[str] = (),
) -> tuple[dict[int, Any], dict[str, Any]]:
    """The project's live items by id and by external id (id, external_id, data); anything of
    another project or organisation is simply not found."""
    columns = (items.c.id, items.c.external_id, items.c.data)
    scope = (items.c.org_id == org_id, items.c.project_id == project_id, live())
    by_id: dict[int, Any] = {}
    by_ext: dict[str, Any] = {}
    for ids in in_chunks(sorted(set(item_ids))):
        by_id.update(
            (int(r.id), r) for r in conn.execute(sa.select(*columns).where(*scope, items.c.id.in_(ids)))
        )
    for names in in_chunks(sorted(set(external_ids))):
        by_ext.update(
            (r.external_id, r)
            for r in conn.execute(sa.select(*columns).where(*scope, items.c.external_id.in_(names)))
        )
    return by_id, by_ext


def existing_answers(
    conn: Connection, *, org_id: int, pairs: Sequence[tuple[int, int]], keys: Sequence[tuple[int, str]]
) -> tuple[dict[tuple[int, int], Existing], dict[tuple[int, str], Existing]]:
    """Stored answers by (item id, user id) and by (user id, stored key)."""
    columns = (
        annotations_t.c.item_id,
        annotations_t.c.user_id,
        annotations_t.c.idempotency_key,
        annotations_t.c.request_hash,
    )

    def existing(r: Any) -> Existing:
        return Existing(int(r.item_id), int(r.user_id), r.idempotency_key, r.request_hash)

    by_pair: dict[tuple[int, int], Existing] = {}
    by_key: dict[tuple[int, str], Existing] = {}
    for chunk in in_chunks(sorted(set(pairs))):
        item_ids = sorted({i for i, _ in chunk})
        user_ids = sorted({u for _, u in chunk})
        wanted = set(chunk)
        rows = conn.execute(
            sa.select(*columns).where(
                annotations_t.c.org_id == org_id,
                annotations_t.c.item_id.in_(item_ids),
                annotations_t.c.user_id.in_(user_ids),
            )
        )
        for r in rows:
            if (int(r.item_id), int(r.user_id)) in wanted:
                by_pair[(int(r.item_id), int(r.user_id))] = existing(r)
    for wanted_chunk in in_chunks(sorted(set(keys))):
        user_ids = sorted({u for u, _ in wanted_chunk})
        rows = conn.execute(
            sa.select(*columns).where(
                annotations_t.c.org_id == org_id,
                annotations_t.c.user_id.in_(user_ids),
                annotations_t.c.idempotency_key.in_([k for _, k in wanted_chunk]),
            )
        )
        wanted_keys = set(wanted_chunk)
        for r in rows:
            if (int(r.user_id), r.idempotency_key) in wanted_keys:
                by_key[(int(r.user_id), r.idempotency_key)] = existing(r)
    return by_pair, by_key


def insert_delivered(
    conn: Connection, *, rows: Sequence[dict[str, Any]], overlap: int, gold_cap: int
) -> list[int]:
    """Store delivered answers as submitted leases and their annotations, counted like submits.

    Each row holds the annotation's values (``org_id``, ``project_id``, ``item_id``, ``user_id``,
    ``workforce_id``, ``answers``, ``duration_ms``, ``idempotency_key``, ``request_hash``,
    ``created_at``) and the ``membership_id`` of its lease.  Three statements for the whole chunk.
    Raises ``leases.DuplicateAnswer`` when an annotator already answered an item (a concurrent
    import of the same rows): the transaction is void.  Returns the leases' ids (in row order)."""
    if not rows:
        return []
    leases_of = [
        {
            "org_id": r["org_id"],
            "project_id": r["project_id"],
            "item_id": r["item_id"],
            "user_id": r["user_id"],
            "membership_id": r["membership_id"],
            "status": "submitted",
            "created_at": r["created_at"],
            "expires_at": r["created_at"],
            "finished_at": r["created_at"],
        }
        for r in rows
    ]
    try:
        ids = (
            conn.execute(
                assignments.insert().returning(assignments.c.id, sort_by_parameter_order=True), leases_of
            )
            .scalars()
            .all()
        )
        conn.execute(
            annotations_t.insert(),
            [
                {
                    **{k: v for k, v in r.items() if k != "membership_id"},
                    "assignment_id": int(i),
                    "client": None,
                }
                for r, i in zip(rows, ids, strict=True)
            ],
        )
    except sa.exc.IntegrityError:
        raise leases.DuplicateAnswer() from None
    counts: dict[int, int] = {}
    for r in rows:
        counts[int(r["item_id"])] = counts.get(int(r["item_id"]), 0) + 1
    counters.delivered(conn, counts=counts, overlap=overlap, gold_cap=gold_cap)
    return [int(i) for i in ids]


def withdraw_delivered(
    conn: Connection, *, org_id: int, assignment_ids: Sequence[int], overlap: int, gold_cap: int
) -> None:
    """Delete delivered answers again (their leases and annotations), counters given back: what an
    import that failed half way had written."""
    for chunk in in_chunks(list(assignment_ids)):
        scope = (
            assignments.c.org_id == org_id,
            assignments.c.id.in_(chunk),
            assignments.c.status == "submitted",
        )
        counts = {
            int(r.item_id): int(r.n)
            for r in conn.execute(
                sa.select(assignments.c.item_id, sa.func.count().label("n"))
                .where(*scope)
                .group_by(assignments.c.item_id)
            )
        }
        conn.execute(
            annotations_t.delete().where(
                annotations_t.c.org_id == org_id, annotations_t.c.assignment_id.in_(chunk)
            )
        )
        conn.execute(assignments.delete().where(*scope))
        counters.withdrawn(conn, counts=counts, overlap=overlap, gold_cap=gold_cap)
