"""Quality gates that act while work goes on: qualification, pausing, adaptive overlap, gold promotion.

Gold scoring: an answer to a gold item is right when it equals the gold answer of the project's
first categorical question (``ProjectSchema.primary``, the question the quality report scores), so
the gates and the report agree (``domain.answers.gold_mark``).

Adaptive overlap (settling items once their label is sure) is ``workflows.adaptive``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assay.app import Assay
from assay.domain.answers import gold_mark
from assay.domain.people import Actor, Role
from assay.errors import Conflict, Forbidden, Invalid, NotFound
from assay.storage import counters, gates
from assay.storage import people as people_store
from assay.storage.people import now
from assay.workflows import access, jobs
from assay.workflows import projects as project_flows
from assay.workflows.projects import Project


def ensure_not_paused(hub: Assay, actor: Actor, project: Project, *, action: str) -> None:
    """403 (audited) for an annotator paused on the project: at every point of action (next,
    submit, extend, revise), so a lease taken before the pause cannot be used after it."""
    with hub.db.read() as conn:
        pause = gates.active_pause(
            conn, org_id=actor.org_id, project_id=project.id, membership_id=actor.membership_id
        )
    if pause is not None:
        access.audit_denial(
            hub,
            actor=actor,
            action=action,
            status=403,
            object_type="project",
            object_id=project.id,
        )
        raise Forbidden(
            f"you are paused on this project: {pause.reason}. A manager can review your answers and lift the pause"
        )


def after_gold_answer(hub: Assay, actor: Actor, project: Project) -> None:
    """Grant the qualification's skill, or pause the annotator, from their gold record here."""
    settings = project.settings
    found = project.schema.primary()
    qual = settings.qualification
    if qual is not None and qual.grants_skill in actor.skills:
        qual = None
    if found is None or (qual is None and settings.pause_below is None):
        return
    question = found[0]
    # Decide on a read; write only when there is something to record (most answers change nothing).
    with hub.db.read() as conn:
        since = gates.last_lift(
            conn, org_id=actor.org_id, project_id=project.id, membership_id=actor.membership_id
        )
        rows = gates.gold_answers(conn, org_id=actor.org_id, project_id=project.id, user_ids=[actor.user_id])
    marks = [m for m in (gold_mark(r.answers, r.gold, question) for r in rows) if m is not None]
    grant = qual is not None and len(marks) >= qual.min_answers and sum(marks) / len(marks) >= qual.threshold
    reason = None
    if settings.pause_below is not None:
        if since is not None:
            # Gold answers before a manager lifted a pause are forgiven.
            marks = [
                m
                for m in (gold_mark(r.answers, r.gold, question) for r in rows if r.created_at > since)
                if m is not None
            ]
        reason = _pause_reason(marks, settings.pause_below, settings.pause_min_gold)
    if not grant and reason is None:
        return
    with hub.db.write() as conn:
        if grant and qual is not None:
            people_store.grant_skill(
                conn,
                org_id=actor.org_id,
                membership_id=actor.membership_id,
                skill=qual.grants_skill,
                source=f"qualification:{project.id}",
            )
        if reason is not None and (
            gates.active_pause(
                conn, org_id=actor.org_id, project_id=project.id, membership_id=actor.membership_id
            )
            is None
        ):
            gates.insert_pause(
                conn,
                values={
                    "org_id": actor.org_id,
                    "project_id": project.id,
                    "membership_id": actor.membership_id,
                    "reason": reason,
                    "created_at": now(),
                },
            )


def _pause_reason(marks: list[bool], threshold: float, min_gold: int) -> str | None:
    """Why to pause, or None.  Paused only when even the Wilson interval's upper end is under the
    bar, over at least ``min_gold`` gold answers: a run of bad luck or a single miss is not enough."""
    if len(marks) < min_gold:
        return None
    from assay.quality import wilson_interval

    k, n = sum(marks), len(marks)
    _low, high = wilson_interval(k=k, n=n)
    if high >= threshold:
        return None
    return (
        f"gold accuracy {k}/{n} = {k / n:.0%} (95% interval up to {high:.0%}) "
        f"is below the project's {threshold:.0%}"
    )


def promote_gold(hub: Assay, actor: Actor, item_id: int, *, answers: Any) -> dict[str, Any]:
    """Make a reviewed item gold with the given known answers (manager and above)."""
    access.require(hub, actor, Role.MANAGER, action="item.gold", object_type="item", object_id=item_id)
    row, project = project_flows.visible_item(hub, actor, item_id, action="item.gold")
    if not isinstance(answers, dict) or not answers:
        raise Invalid(
            "answers: give the known answers as {question: value}",
            errors=[{"loc": "answers", "msg": "required"}],
        )
    from assay.domain.answers import check_answers, compile_questions

    clean, problems = check_answers(
        compile_questions(project.schema), data=row.data, answers=answers, partial=True, prefix="answers"
    )
    if problems:
        raise Invalid(f"{problems[0]['loc']}: {problems[0]['msg']}", errors=problems)
    with hub.db.write() as conn:
        verdicts = gates.reviewed_verdicts(conn, org_id=actor.org_id, item_id=item_id)
        if row.is_gold:
            raise Conflict(f"item {item_id} is already gold")
        if not any(v in ("accept", "fix") for v in verdicts):
            raise Conflict(
                f"item {item_id} has no accepted or fixed annotation; review it before making it gold"
            )
        counters.make_gold(
            conn, org_id=actor.org_id, item_id=item_id, gold=clean, gold_cap=project.settings.gold_cap
        )
        jobs.queue_quality_refresh(hub, conn, org_id=actor.org_id, project_id=project.id)
    return {"ok": True, "item_id": item_id, "project_id": project.id, "gold": clean}


def lift_pause(hub: Assay, actor: Actor, project_id: int, pause_id: int) -> dict[str, Any]:
    project = project_flows.get(hub, actor, project_id, action="pause.lift")
    access.require(
        hub, actor, Role.MANAGER, action="pause.lift", object_type="project_pause", object_id=pause_id
    )
    with hub.db.write() as conn:
        done = gates.lift_pause(
            conn, org_id=actor.org_id, project_id=project.id, pause_id=pause_id, at=now(), by=actor.user_id
        )
    if not done:
        raise access.not_found(
            hub,
            actor,
            NotFound(f"pause {pause_id} does not exist or was already lifted"),
            action="pause.lift",
            object_type="project_pause",
            object_id=pause_id,
        )
    return {"ok": True, "id": pause_id, "project_id": project.id}


def pauses(hub: Assay, actor: Actor, project: Project, *, workforce_id: int | None) -> list[dict[str, Any]]:
    with hub.db.read() as conn:
        rows = gates.list_pauses(conn, org_id=actor.org_id, project_id=project.id, workforce_id=workforce_id)
    return [
        {
            "id": int(r.id),
            "membership_id": int(r.membership_id),
            "user": r.user,
            "workforce": r.workforce,
            "reason": r.reason,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]


def paused_counts(hub: Assay, actor: Actor, project_ids: Sequence[int]) -> dict[int, int]:
    """Annotators paused per project, for the projects list: managers act on pauses, so only they
    are shown the counts (an empty answer for anyone else)."""
    if not actor.at_least(Role.MANAGER) or not project_ids:
        return {}
    with hub.db.read() as conn:
        return gates.paused_counts(conn, org_id=actor.org_id, project_ids=project_ids)
