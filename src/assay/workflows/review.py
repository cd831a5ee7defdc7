"""Review: accept, reject (the item goes back to the pool) or fix annotations; the review queue.

A reject never deletes the annotation: the review row says ``reject``, exports stop counting the
answer, and in the same write transaction the item gives back the unit of overlap the answer held
(``claimed - 1``, ``open``), so another annotator is served it.  A rejected annotation is final:
judging it again would have to take that unit back, which another annotator may already hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.domain.schema import validate_answers
from assay.errors import Conflict, Invalid, NotFound
from assay.storage import answers as answer_store
from assay.storage import projects as project_store
from assay.storage import reviews as store
from assay.storage.people import now
from assay.workflows import access, workforces
from assay.workflows import projects as project_flows
from assay.workflows.projects import Project

VERDICTS = ("accept", "reject", "fix")
QUEUE_SCAN = 200  # items looked at per queue page: enough to sort disagreements first


@dataclass
class QueueItem:
    item_id: int
    data: dict[str, Any]
    annotations: list[dict[str, Any]] = field(default_factory=list)
    disagreement: bool = False


def _annotation_view(a: Any, reviewed: set[int]) -> dict[str, Any]:
    return {
        "id": int(a.id),
        "annotator": a.annotator,
        "workforce": a.workforce,
        "answers": a.fixed_answers if a.fixed_answers is not None else a.answers,
        "original_answers": a.answers if a.fixed_answers is not None else None,
        "duration_ms": a.duration_ms,
        "created_at": a.created_at,
        "review": a.review,
        "pending": int(a.id) not in reviewed,
    }


def _disagree(annotations: list[dict[str, Any]]) -> bool:
    voting = [a["answers"] for a in annotations if a["review"] != "reject"]
    if len(voting) < 2:
        return False
    names = {name for answers in voting for name in answers}
    return any(len({repr(answers.get(name)) for answers in voting}) > 1 for name in names)


def _item_views(hub: Assay, actor: Actor, item_ids: list[int]) -> list[QueueItem]:
    with hub.db.read() as conn:
        anns = answer_store.annotations_for_items(conn, org_id=actor.org_id, item_ids=item_ids)
        reviewed = store.reviewed_ids(conn, annotation_ids=[int(a.id) for a in anns])
        rows = {i: project_store.get_item(conn, org_id=actor.org_id, item_id=i) for i in item_ids}
    views = {i: QueueItem(i, rows[i].data) for i in item_ids}
    scope = workforces.compartment(hub, actor)
    for a in anns:
        # A vendor's reviewer sees only their own workforce's answers.
        if scope is None or a.workforce == actor.workforce_name:
            views[int(a.item_id)].annotations.append(_annotation_view(a, reviewed))
    for v in views.values():
        v.disagreement = _disagree(v.annotations)
    if scope is not None:
        # ... and no gold, and no item that holds nothing of theirs.
        return [views[i] for i in item_ids if views[i].annotations and not rows[i].is_gold]
    return [views[i] for i in item_ids]


def queue(
    hub: Assay, actor: Actor, project_id: int, *, limit: int = 20
) -> tuple[Project, list[QueueItem], int]:
    """(project, items to review with all their annotations — disagreements first —, pending answers)."""
    project = project_flows.get(hub, actor, project_id, action="review.queue")
    access.require(
        hub, actor, Role.REVIEWER, action="review.queue", object_type="project", object_id=project_id
    )
    with hub.db.read() as conn:
        item_ids = store.pending(conn, org_id=actor.org_id, project_id=project.id, limit=QUEUE_SCAN)
        total = store.pending_count(conn, org_id=actor.org_id, project_id=project.id)
    views = _item_views(hub, actor, item_ids)
    # Stable sort: disagreements first, oldest first within each group.
    views.sort(key=lambda v: not v.disagreement)
    return project, views[:limit], total


def item(hub: Assay, actor: Actor, item_id: int) -> tuple[Project, QueueItem]:
    """One item with every annotation side by side (reviewers and managers)."""
    row, project = project_flows.visible_item(hub, actor, item_id)
    if row.is_gold and workforces.compartment(hub, actor) is not None:
        raise access.not_found(
            hub,
            actor,
            NotFound(f"item {item_id} does not exist"),
            action="item.read",
            object_type="item",
            object_id=item_id,
        )
    views = _item_views(hub, actor, [item_id])
    return project, views[0] if views else QueueItem(item_id, row.data)


def judge(
    hub: Assay,
    actor: Actor,
    annotation_id: int,
    *,
    verdict: str,
    reason: str | None = None,
    answers: Any = None,
) -> dict[str, Any]:
    """Record a verdict.  ``reject`` needs a reason and returns the item to the pool; ``fix`` needs answers."""
    action = f"review.{verdict}" if verdict in VERDICTS else "review"
    access.require(
        hub, actor, Role.REVIEWER, action=action, object_type="annotation", object_id=annotation_id
    )
    if verdict not in VERDICTS:
        raise Invalid(
            f"verdict={verdict!r}: choose one of {', '.join(VERDICTS)}",
            errors=[{"loc": "verdict", "msg": "unknown verdict"}],
        )
    reason = (reason or "").strip() or None
    if verdict == "reject" and not reason:
        raise Invalid(
            "a reject needs a reason the annotator can learn from",
            errors=[{"loc": "reason", "msg": "required"}],
        )
    with hub.db.read() as conn:
        row = answer_store.annotation_of(conn, org_id=actor.org_id, annotation_id=annotation_id)
    missing = NotFound(f"annotation {annotation_id} does not exist")
    if row is None:
        raise access.not_found(
            hub, actor, missing, action=action, object_type="annotation", object_id=annotation_id
        )
    try:
        project = project_flows.get(hub, actor, int(row.project_id), action=action)
    except NotFound:
        raise missing from None
    scope = workforces.compartment(hub, actor)
    if scope is not None and row.workforce_id != scope:
        raise access.not_found(
            hub, actor, missing, action=action, object_type="annotation", object_id=annotation_id
        )
    clean = None
    if verdict == "fix":
        with hub.db.read() as conn:
            data = project_store.get_item(conn, org_id=actor.org_id, item_id=int(row.item_id)).data
        clean = validate_answers(project.schema, data=data, answers=answers)
    at = now()
    with hub.db.write() as conn:
        locked = store.lock_annotation(conn, org_id=actor.org_id, annotation_id=annotation_id)
        assert locked is not None  # annotations are never deleted while their project lives
        if store.was_rejected(conn, annotation_id=annotation_id):
            raise Conflict(f"annotation {annotation_id} was rejected and its item went back to the pool")
        review_id = store.insert(
            conn,
            values={
                "org_id": actor.org_id,
                "annotation_id": annotation_id,
                "reviewer_id": actor.user_id,
                "verdict": verdict,
                "answers": clean,
                "reason": reason,
                "created_at": at,
            },
        )
        if verdict == "reject":
            store.return_to_pool(conn, org_id=actor.org_id, item_id=int(row.item_id))
    return {
        "ok": True,
        "id": review_id,
        "annotation_id": annotation_id,
        "item_id": int(row.item_id),
        "verdict": verdict,
        "reason": reason,
        "answers": clean,
        "created_at": at.isoformat(),
    }
