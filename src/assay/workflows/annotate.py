"""Next item, submit, skip: DESIGN.md §6 on top of the guarded SQL in ``storage.leases``."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from assay.app import Assay
from assay.domain.answers import DURATION_RULE, check_duration
from assay.domain.people import Actor
from assay.domain.schema import validate_answers
from assay.errors import Conflict, Forbidden, Invalid, NotFound
from assay.storage import answers as answer_store
from assay.storage import chat as chat_store
from assay.storage import counters, leases
from assay.storage import projects as store
from assay.storage.engine import org_scope
from assay.storage.people import now
from assay.workflows import access, adaptive, gates, jobs
from assay.workflows import projects as project_flows
from assay.workflows.projects import Project

CANDIDATES = 32
CLIENT_BYTES = 8192


@dataclass(frozen=True)
class Lease:
    assignment_id: int
    item_id: int
    data: dict[str, Any]
    display_order: dict[str, list[str]] | None
    expires_at: datetime
    questions: list[dict[str, Any]]
    server_time: datetime  # the server's clock when it answered: clients count down from it
    lease_seconds: int  # the project's lease length: no countdown shows more

    def public(self) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.item_id, "data": self.data}
        if self.display_order:
            item["display_order"] = self.display_order
        return {
            "assignment_id": self.assignment_id,
            "item": item,
            "questions": self.questions,
            "expires_at": self.expires_at.isoformat(),
            "server_time": self.server_time.isoformat(),
            "lease_seconds": self.lease_seconds,
        }


def _display_order(project: Project, data: dict[str, Any], seed: int) -> dict[str, list[str]] | None:
    """Shuffle every responses input per assignment; the order shown is recorded (position bias)."""
    order: dict[str, list[str]] = {}
    rng = random.Random(seed)
    for inp in project.schema.inputs:
        if inp.kind == "responses" and isinstance(data.get(inp.name), list):
            ids = [str(r.get("id")) for r in data[inp.name] if isinstance(r, dict)]
            rng.shuffle(ids)
            order[inp.name] = ids
    return order or None


def _questions(project: Project) -> list[dict[str, Any]]:
    return [q.model_dump(mode="json", exclude_none=True) for q in project.schema.questions]


def next_item(hub: Assay, actor: Actor, project_id: int) -> Lease | None:
    """Lease the next item for the actor, or None when nothing is left for them."""
    project = project_flows.get(hub, actor, project_id, action="assignment.next")
    settings = project.settings
    missing = set(settings.required_skills) - actor.skills
    if missing:
        access.audit_denial(
            hub,
            actor=actor,
            action="assignment.next",
            status=403,
            object_type="project",
            object_id=project.id,
        )
        raise Forbidden(f"this project requires the skills: {', '.join(sorted(missing))}")
    gates.ensure_not_paused(hub, actor, project, action="assignment.next")
    at = now()
    expires = at + timedelta(seconds=settings.lease_seconds)
    # Gold is mixed in at the project's rate; the draw is random so that its position tells nothing.
    want_gold = settings.gold_rate > 0 and hub.rng.random() < settings.gold_rate
    # Fan concurrent annotators out over the candidate window instead of all fighting for the first row.
    offset = hub.rng.randrange(CANDIDATES)
    with hub.db.write() as conn:
        leases.expire_leases(
            conn, project_id=project.id, at=at, overlap=settings.overlap, gold_cap=settings.gold_cap
        )
        held = leases.held_leases(conn, project_id=project.id, user_id=actor.user_id, at=at)
        if len(held) >= settings.max_leases:
            row = held[0]
            item = store.get_item(conn, org_id=actor.org_id, item_id=row.item_id)
            return Lease(
                int(row.id),
                int(row.item_id),
                item.data,
                row.display_order,
                row.expires_at,
                _questions(project),
                at,
                settings.lease_seconds,
            )
        # Item batches shared with other workforces are filtered out along the same index walk.
        scope = access.batch_scope(actor, project.raw_settings)

        def pool(gold: bool) -> list[tuple[int, int]]:
            return leases.candidates(
                conn,
                project_id=project.id,
                user_id=actor.user_id,
                gold=gold,
                limit=CANDIDATES,
                only=scope.only,
                hidden=scope.hidden,
            )

        normal = pool(False)
        # A project with gold runs both queries on every `next`, whatever the draw: a lease that
        # turns out gold must cost the database exactly what a normal one does (DESIGN §6).
        gold = pool(True) if settings.gold_rate > 0 else []
        # Gold comes at the project's rate; when one pool is empty the other serves alone, so the
        # work left for an annotator (``progress.left_for``) is exactly what `next` will hand out.
        for candidates in (gold, normal) if want_gold else (normal, gold):
            if not candidates:
                continue
            # The same order for both kinds: priority, then import order, rotated within the top
            # priority so that concurrent annotators fan out over the first rows.
            ids = [item_id for item_id, _ in candidates]
            top = sum(1 for _, priority in candidates if priority == candidates[0][1])
            k = offset % top
            for item_id in ids[k:top] + ids[:k] + ids[top:]:
                # One guarded UPDATE for gold and normal items alike (``counters.claim``).
                if not counters.claim(
                    conn, item_id=item_id, overlap=settings.overlap, gold_cap=settings.gold_cap
                ):
                    continue
                item = store.get_item(conn, org_id=actor.org_id, item_id=item_id)
                order = _display_order(project, item.data, seed=hub.rng.getrandbits(64))
                assignment_id = leases.insert_assignment(
                    conn,
                    values={
                        "org_id": actor.org_id,
                        "project_id": project.id,
                        "item_id": item_id,
                        "user_id": actor.user_id,
                        "membership_id": actor.membership_id,
                        "status": "leased",
                        "display_order": order,
                        "created_at": at,
                        "expires_at": expires,
                    },
                )
                if assignment_id is None:  # this user's other request took it a moment ago
                    counters.release(
                        conn, item_id=item_id, overlap=settings.overlap, gold_cap=settings.gold_cap
                    )
                    continue
                return Lease(
                    assignment_id,
                    item_id,
                    item.data,
                    order,
                    expires,
                    _questions(project),
                    at,
                    settings.lease_seconds,
                )
    return None


def hash_request(answers: Any, duration_ms: Any) -> str:
    """What a replay of the same answer must match (an idempotent submit, a re-imported row)."""
    body = orjson.dumps({"answers": answers, "duration_ms": duration_ms}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


def _annotation_public(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "assignment_id": int(row.assignment_id),
        "item_id": int(row.item_id),
        "answers": row.answers,
        "duration_ms": row.duration_ms,
        "created_at": row.created_at.isoformat(),
    }


def lookup_assignment(hub: Assay, actor: Actor, assignment_id: int, action: str) -> Any:
    with hub.db.read() as conn:
        row = leases.get_assignment(conn, org_id=actor.org_id, assignment_id=assignment_id)
    if row is None or row.user_id != actor.user_id:
        # Someone else's lease is as invisible as a missing one.
        raise access.not_found(
            hub,
            actor,
            NotFound(f"assignment {assignment_id} does not exist"),
            action=action,
            object_type="assignment",
            object_id=assignment_id,
        )
    return row


def submit(
    hub: Assay,
    actor: Actor,
    assignment_id: int,
    *,
    answers: Any,
    duration_ms: Any = None,
    idempotency_key: str | None = None,
    client: dict[str, Any] | None = None,
    defer: Callable[[Callable[[], None]], None] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Store the answers exactly once.  Returns (annotation, created); a retry returns the first result.

    ``defer`` receives the quality gates to run once the caller has answered (the API runs them
    after the response is sent): a gold answer and a normal one start different gates, and their
    work must not show in the time the annotator waits for the answer to be stored.  Without it
    the gates run here, before returning.
    """
    row = lookup_assignment(hub, actor, assignment_id, "assignment.submit")
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
        raise Invalid("Idempotency-Key must be 1 to 200 characters")
    if not check_duration(duration_ms):
        raise Invalid(
            f"duration_ms: {duration_ms!r} {DURATION_RULE}",
            errors=[{"loc": "duration_ms", "msg": "must be a non-negative integer"}],
        )
    if client is not None and len(orjson.dumps(client)) > CLIENT_BYTES:
        raise Invalid(
            f"client: at most {CLIENT_BYTES} bytes of client observations",
            errors=[{"loc": "client", "msg": "too large"}],
        )
    request_hash = hash_request(answers, duration_ms)

    def replay(existing: Any) -> tuple[dict[str, Any], bool]:
        if existing.assignment_id != assignment_id or existing.request_hash != request_hash:
            raise Invalid(
                "this Idempotency-Key was already used with a different request; use a new key",
                errors=[{"loc": "Idempotency-Key", "msg": "reused with a different body"}],
            )
        return _annotation_public(existing), False

    def by_key(conn: Any) -> Any:
        assert idempotency_key is not None
        return leases.annotation_by_key(conn, org_id=actor.org_id, user_id=actor.user_id, key=idempotency_key)

    if idempotency_key is not None:
        with hub.db.read() as conn:
            existing = by_key(conn)
        if existing is not None:
            return replay(existing)
    project = project_flows.get(hub, actor, int(row.project_id), action="assignment.submit")
    # A pause holds at the point of action: a lease taken before it cannot be submitted after.
    gates.ensure_not_paused(hub, actor, project, action="assignment.submit")
    with hub.db.read() as conn:
        item = store.get_item(conn, org_id=actor.org_id, item_id=int(row.item_id))
        data = chat_store.answer_data(
            conn, org_id=actor.org_id, schema=project.schema, data=item.data,
            assignment_id=assignment_id, item_id=int(row.item_id),
        )  # fmt: skip
    clean = validate_answers(project.schema, data=data, answers=answers)
    at = now()
    try:
        annotation_id = _store_answer(
            hub, actor, project, item, assignment_id, at=at, clean=clean, duration_ms=duration_ms,
            key=idempotency_key, request_hash=request_hash, client=client, replay=replay, by_key=by_key,
        )  # fmt: skip
    except _Replayed as done:
        return done.result
    except leases.DuplicateAnswer:
        # A concurrent request with this key, or for this lease, won the race: answer as it did.
        with hub.db.read() as conn:
            existing = by_key(conn) if idempotency_key is not None else None
            if existing is None:
                existing = leases.annotation_for_assignment(conn, assignment_id=assignment_id)
        if (
            existing is not None
            and idempotency_key is not None
            and existing.idempotency_key == idempotency_key
        ):
            return replay(existing)
        if existing is not None and existing.request_hash == request_hash and idempotency_key is None:
            return _annotation_public(existing), False
        raise Conflict(f"assignment {assignment_id} was already submitted") from None
    # The gates run after the answer is safely stored, in their own transaction: a gate that
    # fails must never lose the answer.
    item_id, is_gold = int(item.id), bool(item.is_gold)

    def run_gates() -> None:
        with org_scope(actor.org_id):
            if is_gold:
                gates.after_gold_answer(hub, actor, project)
            else:
                adaptive.settle_if_sure(hub, actor, project, item_id)

    if defer is None:
        run_gates()
    else:
        defer(run_gates)
    return (
        {
            "id": annotation_id,
            "assignment_id": assignment_id,
            "item_id": int(item.id),
            "answers": clean,
            "duration_ms": duration_ms,
            "created_at": at.isoformat(),
        },
        True,
    )


class _Replayed(Exception):
    """The write found the answer already stored: the request is answered with the first result."""

    def __init__(self, result: tuple[dict[str, Any], bool]) -> None:
        super().__init__()
        self.result = result


def _store_answer(
    hub: Assay,
    actor: Actor,
    project: Project,
    item: Any,
    assignment_id: int,
    *,
    at: datetime,
    clean: dict[str, Any],
    duration_ms: Any,
    key: str | None,
    request_hash: str,
    client: dict[str, Any] | None,
    replay: Callable[[Any], tuple[dict[str, Any], bool]],
    by_key: Callable[[Any], Any],
) -> int:
    """The submit's one write transaction: the lease moves to submitted and the answer is stored,
    or nothing happens.  Raises ``_Replayed`` when the answer is already there."""
    with hub.db.write() as conn:
        current = leases.lock_assignment(conn, org_id=actor.org_id, assignment_id=assignment_id)
        assert current is not None  # checked above; assignments are never deleted while items live
        if key is not None:
            existing = by_key(conn)
            if existing is not None:
                raise _Replayed(replay(existing))
        if current.status == "submitted":
            done = leases.annotation_for_assignment(conn, assignment_id=assignment_id)
            if done is not None and done.request_hash == request_hash and key is None:
                raise _Replayed((_annotation_public(done), False))
            raise Conflict(f"assignment {assignment_id} was already submitted")
        if current.status == "skipped":
            raise Conflict(f"assignment {assignment_id} was skipped; ask for the next item")
        if current.status == "expired":
            # The lease ran out and the item went back to the pool; keep the work if there is room.
            if not counters.claim(
                conn, item_id=item.id, overlap=project.settings.overlap, gold_cap=project.settings.gold_cap
            ):
                raise Conflict(f"assignment {assignment_id} expired and the item has all its answers")
            leases.set_status(conn, assignment_id=assignment_id, status="submitted", at=at, expect="expired")
        elif not leases.set_status(
            conn, assignment_id=assignment_id, status="submitted", at=at, expect="leased"
        ):
            raise Conflict(f"assignment {assignment_id} changed while submitting; retry")
        annotation_id = leases.insert_annotation(
            conn,
            values={
                "org_id": actor.org_id,
                "project_id": project.id,
                "item_id": item.id,
                "assignment_id": assignment_id,
                "user_id": actor.user_id,
                "workforce_id": actor.workforce_id,
                "answers": clean,
                "duration_ms": duration_ms,
                "idempotency_key": key,
                "request_hash": request_hash,
                "client": client,
                "created_at": at,
            },
        )
        jobs.queue_quality_refresh(hub, conn, org_id=actor.org_id, project_id=project.id)
    return annotation_id


def skip(hub: Assay, actor: Actor, assignment_id: int) -> None:
    """Release a lease; the item goes back to the pool for others (never to this annotator again)."""
    row = lookup_assignment(hub, actor, assignment_id, "assignment.skip")
    settings = project_flows.get(hub, actor, int(row.project_id), action="assignment.skip").settings
    at = now()
    with hub.db.write() as conn:
        current = leases.lock_assignment(conn, org_id=actor.org_id, assignment_id=assignment_id)
        assert current is not None
        if current.status == "skipped":
            return
        if current.status != "leased":
            raise Conflict(
                f"assignment {assignment_id} is {current.status}; only a live lease can be skipped"
            )
        if leases.set_status(conn, assignment_id=assignment_id, status="skipped", at=at, expect="leased"):
            counters.release(
                conn, item_id=int(current.item_id), overlap=settings.overlap, gold_cap=settings.gold_cap
            )


def revise(hub: Assay, actor: Actor, annotation_id: int, *, answers: Any) -> dict[str, Any]:
    """Correct one's own answer while its lease still holds (the UI's undo).

    Annotations are never overwritten: the correction is stored as a revision by the author (not a
    review), which becomes their answer of record and what gold is scored on.  Once a reviewer has
    judged the answer it is final for its author (a reject gave the item back to the pool; an
    accept or fix was about the answer as it stood).  A revision that changes nothing stores
    nothing.
    """
    with hub.db.read() as conn:
        row = answer_store.annotation_of(conn, org_id=actor.org_id, annotation_id=annotation_id)
        lease = (
            None
            if row is None
            else leases.get_assignment(conn, org_id=actor.org_id, assignment_id=int(row.assignment_id))
        )
    if row is None or lease is None or row.user_id != actor.user_id:
        raise access.not_found(
            hub,
            actor,
            NotFound(f"annotation {annotation_id} does not exist"),
            action="annotation.revise",
            object_type="annotation",
            object_id=annotation_id,
        )
    if lease.expires_at <= now():
        raise Conflict(f"the lease of annotation {annotation_id} has ended; ask a reviewer to fix it")
    project = project_flows.get(hub, actor, int(row.project_id), action="annotation.revise")
    gates.ensure_not_paused(hub, actor, project, action="annotation.revise")
    with hub.db.read() as conn:
        item = store.get_item(conn, org_id=actor.org_id, item_id=int(row.item_id))
        data = chat_store.answer_data(
            conn, org_id=actor.org_id, schema=project.schema, data=item.data,
            assignment_id=int(row.assignment_id), item_id=int(row.item_id),
        )  # fmt: skip
    clean = validate_answers(project.schema, data=data, answers=answers)
    at = now()
    with hub.db.write() as conn:
        answer_store.lock_annotation(conn, org_id=actor.org_id, annotation_id=annotation_id)
        if answer_store.has_review(conn, annotation_id=annotation_id):
            raise Conflict(
                f"a reviewer has already judged annotation {annotation_id}; it can no longer be revised"
            )
        current = answer_store.own_answers_of(conn, annotation_id=annotation_id)
        changed = current != clean
        if changed:
            answer_store.insert_revision(
                conn,
                values={
                    "org_id": actor.org_id,
                    "annotation_id": annotation_id,
                    "answers": clean,
                    "created_at": at,
                },
            )
            jobs.queue_quality_refresh(hub, conn, org_id=actor.org_id, project_id=project.id)
    return {
        "ok": True,
        "id": annotation_id,
        "assignment_id": int(row.assignment_id),
        "item_id": int(row.item_id),
        "answers": clean,
        "original_answers": row.answers,
        "revised": changed,
        "revised_at": at.isoformat(),
    }


def extend(hub: Assay, actor: Actor, assignment_id: int) -> dict[str, Any]:
    """Renew a live lease for another lease period (a long item, or a prefetched one now on screen)."""
    row = lookup_assignment(hub, actor, assignment_id, "assignment.extend")
    project = project_flows.get(hub, actor, int(row.project_id), action="assignment.extend")
    gates.ensure_not_paused(hub, actor, project, action="assignment.extend")
    at = now()
    expires = at + timedelta(seconds=project.settings.lease_seconds)
    with hub.db.write() as conn:
        if not leases.extend(conn, assignment_id=assignment_id, at=at, until=expires):
            raise Conflict(f"assignment {assignment_id} is no longer a live lease; ask for the next item")
    return {"ok": True, "assignment_id": assignment_id, "expires_at": expires.isoformat()}
