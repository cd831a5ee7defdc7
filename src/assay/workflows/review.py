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
from assay.errors import Conflict, Forbidden, Invalid, NotFound
from assay.storage import answers as answer_store
from assay.storage import chat as chat_store
from assay.storage import counters
from assay.storage import projects as project_store
from assay.storage import reviews as store
from assay.storage.people import now
from assay.workflows import access, export, flags, jobs, workforces
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
    flagged: bool = False  # one of its pending answers is flagged by the spam or machine-text checks


def _annotation_view(a: Any, reviewed: set[int], reasons: list[dict[str, Any]]) -> dict[str, Any]:
    answers, source = export.provenance(a)
    return {
        "id": int(a.id),
        "annotator": a.annotator,
        "workforce": a.workforce,
        "answers": answers,
        "original_answers": a.answers if source != "submitted" else None,
        "provenance": source,
        "duration_ms": a.duration_ms,
        "created_at": a.created_at,
        "review": a.review,
        "pending": int(a.id) not in reviewed,
        "flags": [{**r, "text": flags.describe(r)} for r in reasons],
        # The order the annotator was shown the responses in: reviewers see the answer as given.
        "display_order": a.display_order,
    }


def _disagree(annotations: list[dict[str, Any]]) -> bool:
    voting = [a["answers"] for a in annotations if a["review"] != "reject"]
    if len(voting) < 2:
        return False
    names = {name for answers in voting for name in answers}
    return any(len({repr(answers.get(name)) for answers in voting}) > 1 for name in names)


def _item_views(
    hub: Assay, actor: Actor, item_ids: list[int], found: dict[int, flags.Flagged] | None = None
) -> list[QueueItem]:
    item_ids = project_flows.shared_item_ids(hub, actor, item_ids)  # not another workforce's batch
    with hub.db.read() as conn:
        anns = answer_store.annotations_for_items(conn, org_id=actor.org_id, item_ids=item_ids)
        reviewed = store.reviewed_ids(conn, annotation_ids=[int(a.id) for a in anns])
        rows = {i: project_store.get_item(conn, org_id=actor.org_id, item_id=i) for i in item_ids}
    views = {i: QueueItem(i, rows[i].data) for i in item_ids}
    scope = workforces.compartment(hub, actor)
    for a in anns:
        # A vendor's reviewer sees only their own workforce's answers.
        if scope is None or a.workforce == actor.workforce_name:
            hit = found.get(int(a.id)) if found else None
            views[int(a.item_id)].annotations.append(
                _annotation_view(a, reviewed, hit.reasons if hit else [])
            )
    for v in views.values():
        v.disagreement = _disagree(v.annotations)
        v.flagged = any(a["pending"] and a["flags"] for a in v.annotations)
    if scope is not None:
        # ... and no item that holds nothing of theirs.  Gold items are reviewed like any other:
        # nothing here tells them apart, and no verdict changes a gold score.
        return [views[i] for i in item_ids if views[i].annotations]
    return [views[i] for i in item_ids]


def _flagged_pending(hub: Assay, actor: Actor, found: dict[int, flags.Flagged]) -> list[flags.Flagged]:
    """The flagged answers no reviewer has judged yet that the actor may review, oldest first.

    ``found`` already holds only the actor's compartment.  An answer with no review at all is
    pending without asking.
    """
    shown = list(found.values())
    with hub.db.read() as conn:
        judged = store.reviewed_ids(
            conn, annotation_ids=[int(f.row.id) for f in shown if f.row.review is not None]
        )
    return [f for f in shown if int(f.row.id) not in judged]


@dataclass
class QueuePage:
    project: Project
    items: list[QueueItem]
    pending: int  # answers no reviewer has judged
    flagged: int  # of those, the flagged ones
    page: int
    has_more: bool  # a next page holds more items


def queue(
    hub: Assay, actor: Actor, project_id: int, *, limit: int = 20, only_flagged: bool = False
) -> tuple[Project, list[QueueItem], int, int]:
    """(project, items to review, pending answers, flagged pending answers): the first page."""
    found = queue_page(hub, actor, project_id, limit=limit, only_flagged=only_flagged)
    return found.project, found.items, found.pending, found.flagged


def queue_page(
    hub: Assay,
    actor: Actor,
    project_id: int,
    *,
    limit: int = 20,
    page: int = 1,
    only_flagged: bool = False,
) -> QueuePage:
    """One page of the review queue.

    Items with a flagged pending answer come first, then the other pending items oldest first in
    blocks of ``QUEUE_SCAN``, disagreements first within each block.  Flagged items are found from
    the flag checks over the whole project, not within the oldest pending items, so that a flagged
    answer is never hidden behind a long backlog.  Blocks keep the order the same from one page to
    the next (a page further on only reads more blocks), so paging shows every item of the queue.
    ``only_flagged`` keeps the flagged items alone.
    """
    page = max(1, page)
    need = page * limit + 1  # one more than this page ends at: is there a next page?
    project = project_flows.get(hub, actor, project_id, action="review.queue")
    access.require(
        hub, actor, Role.REVIEWER, action="review.queue", object_type="project", object_id=project_id
    )
    found = flags.flagged(hub, actor, project)
    waiting = _flagged_pending(hub, actor, found)
    flagged_items = list(dict.fromkeys(int(f.row.item_id) for f in waiting))
    with hub.db.read() as conn:
        total = store.pending_count(conn, org_id=actor.org_id, project_id=project.id)
        # Enough flagged items fill the page on their own: the oldest pending ones would sort after.
        blocks = -(-max(0, need - len(flagged_items)) // QUEUE_SCAN)
        window = (
            []
            if only_flagged or blocks == 0
            else store.pending(conn, org_id=actor.org_id, project_id=project.id, limit=blocks * QUEUE_SCAN)
        )
    first = set(flagged_items)
    rest = [i for i in window if i not in first]
    block = {item_id: n // QUEUE_SCAN for n, item_id in enumerate(rest)}
    views = _item_views(hub, actor, flagged_items[:need] + rest, found)
    if only_flagged:
        views = [v for v in views if v.flagged]
    # Stable sort: flagged first, then block by block (oldest first), disagreements first in each.
    views.sort(key=lambda v: (not v.flagged, 0 if v.flagged else block.get(v.item_id, 0), not v.disagreement))
    start = (page - 1) * limit
    return QueuePage(
        project=project,
        items=views[start : start + limit],
        pending=total,
        flagged=len(waiting),
        page=page,
        has_more=len(views) > start + limit,
    )


def item(hub: Assay, actor: Actor, item_id: int) -> tuple[Project, QueueItem]:
    """One item with every annotation side by side (reviewers and managers)."""
    row, project = project_flows.visible_item(hub, actor, item_id)
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
    row, project = _judgeable(hub, actor, annotation_id, action=action)
    return _record(hub, actor, row, project, verdict=verdict, reason=reason, answers=answers)


def _judgeable(hub: Assay, actor: Actor, annotation_id: int, *, action: str) -> tuple[Any, Project]:
    """The annotation and its project if the actor may judge it: 404 (audited) for one they may
    not see, 403 (audited) for their own answer."""
    with hub.db.read() as conn:
        row = answer_store.annotation_of(conn, org_id=actor.org_id, annotation_id=annotation_id)
    missing = NotFound(f"annotation {annotation_id} does not exist")
    if row is None:
        raise access.not_found(
            hub, actor, missing, action=action, object_type="annotation", object_id=annotation_id
        )
    # The item must be one the reviewer may see (its project, and its batch): the same check as
    # reading it, at the point of action.
    try:
        _item_row, project = project_flows.visible_item(hub, actor, int(row.item_id), action=action)
    except NotFound:
        raise missing from None
    scope = workforces.compartment(hub, actor)
    if scope is not None and row.workforce_id != scope:
        raise access.not_found(
            hub, actor, missing, action=action, object_type="annotation", object_id=annotation_id
        )
    if int(row.user_id) == actor.user_id:
        access.audit_denial(
            hub, actor=actor, action=action, status=403, object_type="annotation", object_id=annotation_id
        )
        raise Forbidden("you cannot review your own answer; another reviewer must")
    return row, project


def _record(
    hub: Assay, actor: Actor, row: Any, project: Project, *, verdict: str, reason: str | None, answers: Any
) -> dict[str, Any]:
    annotation_id = int(row.id)
    clean = None
    if verdict == "fix":
        with hub.db.read() as conn:
            data = chat_store.answer_data(
                conn,
                org_id=actor.org_id,
                schema=project.schema,
                data=project_store.get_item(conn, org_id=actor.org_id, item_id=int(row.item_id)).data,
                assignment_id=int(row.assignment_id),
                item_id=int(row.item_id),
            )
        clean = validate_answers(project.schema, data=data, answers=answers)
    at = now()
    with hub.db.write() as conn:
        locked = answer_store.lock_annotation(conn, org_id=actor.org_id, annotation_id=annotation_id)
        assert locked is not None  # annotations are never deleted while their project lives
        if store.was_rejected(conn, annotation_id=annotation_id):
            raise Conflict(
                f"annotation {annotation_id} was rejected (final) and its item went back to the pool"
            )
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
            counters.reject(
                conn,
                org_id=actor.org_id,
                item_id=int(row.item_id),
                overlap=project.settings.overlap,
                gold_cap=project.settings.gold_cap,
            )
        jobs.queue_quality_refresh(hub, conn, org_id=actor.org_id, project_id=project.id)
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


BULK_MAX = 500  # answers one bulk accept may name


def accept_many(hub: Assay, actor: Actor, project_id: int, annotation_ids: list[int]) -> dict[str, Any]:
    """Accept the named answers of one project: the set a filtered queue page showed.

    Every id is checked before anything is written: one the reviewer may not see, or of another
    project, refuses the whole request (404, audited), so nothing is half done.  The reviewer's
    own answers and answers a reviewer has judged since the page was drawn are skipped and counted.
    """
    action = "review.accept"
    project = project_flows.get(hub, actor, project_id, action=action)
    access.require(hub, actor, Role.REVIEWER, action=action, object_type="project", object_id=project_id)
    ids = list(dict.fromkeys(annotation_ids))
    if len(ids) > BULK_MAX:
        raise Invalid(
            f"a bulk accept names at most {BULK_MAX} answers, not {len(ids)}",
            errors=[{"loc": "annotation", "msg": f"at most {BULK_MAX}"}],
        )
    ready: list[tuple[Any, Project]] = []
    own = 0
    for annotation_id in ids:
        try:
            row, found = _judgeable(hub, actor, annotation_id, action=action)
        except Forbidden:
            own += 1
            continue
        if found.id != project.id:
            raise access.not_found(
                hub,
                actor,
                NotFound(f"annotation {annotation_id} does not exist in project {project_id}"),
                action=action,
                object_type="annotation",
                object_id=annotation_id,
            )
        ready.append((row, found))
    with hub.db.read() as conn:
        judged = store.reviewed_ids(conn, annotation_ids=[int(row.id) for row, _ in ready])
    accepted = 0
    for row, found in ready:
        if int(row.id) in judged:
            continue
        try:
            _record(hub, actor, row, found, verdict="accept", reason=None, answers=None)
        except Conflict:  # rejected by another reviewer a moment ago: final
            judged.add(int(row.id))
            continue
        accepted += 1
    return {"ok": True, "accepted": accepted, "already_judged": len(judged), "own": own}
