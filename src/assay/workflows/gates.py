"""Quality gates that act while work goes on: qualification, pausing, adaptive overlap, gold promotion.

Gold scoring: an answer to a gold item is right when it equals the gold answer of the project's
first categorical question (the question the quality report scores), so the gates and the report
agree.

Adaptive overlap — the estimate, and why: an item's posterior over the first categorical
question's values is computed in closed form under the one-coin model (each annotator is right with
probability ``p`` and otherwise picks a wrong value uniformly).  ``p`` comes from the project's
method: every quality refresh (``workflows.quality.refresh``, in the background) fits it over all
answers with gold held fixed, and an annotator's ``p`` is the mean posterior of the values they
gave.  Before a refresh has seen an annotator, their gold accuracy in the project stands in.  Either
is shrunk towards the workforce's gold record as of that refresh (none before the first), and that
towards a Beta(3, 1) prior (an unmeasured annotator counts as 75% right).  The check runs after each
answer (it reads the item's votes, the snapshot, and the gold answers of voters the refresh has not
seen) and again over every open item at each refresh, when the accuracies have moved.  When the
largest posterior reaches ``target_confidence``, with at least two answers, the item is settled
(closed for good).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.domain.questions import ChoiceQuestion, PreferenceQuestion, RatingQuestion
from assay.errors import Conflict, Forbidden, Invalid, NotFound
from assay.storage import gates, leases
from assay.storage import jobs as job_store
from assay.storage import people as people_store
from assay.storage.people import now
from assay.workflows import access, jobs
from assay.workflows import projects as project_flows
from assay.workflows.projects import Project

PRIOR_RIGHT, PRIOR_WRONG = 3.0, 1.0
TEAM_WEIGHT = 4.0  # pseudo-answers a workforce's record counts for in a member's estimate
MIN_VOTES = 2  # one answer never settles an item: its author's record is not evidence about this item


def primary(project: Project) -> tuple[str, list[Any]] | None:
    """(name, every value it can take) of the first categorical question, if any: the question
    gold is scored on, and the one the models fit (they must know options nobody has picked yet)."""
    for q in project.schema.questions:
        if isinstance(q, ChoiceQuestion):
            return q.name, list(q.options)
        if isinstance(q, RatingQuestion | PreferenceQuestion):
            return q.name, list(range(q.scale.min, q.scale.max + 1))
    return None


def score(answers: dict[str, Any], gold: dict[str, Any] | None, question: str) -> bool | None:
    """True/False for a scored gold answer; None when the gold has no value for the question."""
    if not gold or gold.get(question) is None:
        return None
    return bool(answers.get(question) == gold[question])


def ensure_not_paused(hub: Assay, actor: Actor, project: Project) -> None:
    with hub.db.read() as conn:
        pause = gates.active_pause(
            conn, org_id=actor.org_id, project_id=project.id, membership_id=actor.membership_id
        )
    if pause is not None:
        access.audit_denial(
            hub,
            actor=actor,
            action="assignment.next",
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
    found = primary(project)
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
    marks = [m for m in (score(r.answers, r.gold, question) for r in rows) if m is not None]
    grant = qual is not None and len(marks) >= qual.min_answers and sum(marks) / len(marks) >= qual.threshold
    reason = None
    if settings.pause_below is not None:
        if since is not None:
            # Gold answers before a manager lifted a pause are forgiven.
            marks = [
                m
                for m in (score(r.answers, r.gold, question) for r in rows if r.created_at > since)
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


def posterior(votes: list[tuple[Any, float]], n_values: int) -> float:
    """Largest posterior probability of an item's value from (value, annotator accuracy) votes."""
    if not votes:
        return 0.0
    k = max(n_values, 2)
    log_odds: dict[Any, float] = defaultdict(float)
    base = 0.0  # log-likelihood of a value nobody gave
    for value, p in votes:
        p = min(max(p, 1e-3), 1 - 1e-3)
        wrong = math.log((1 - p) / (k - 1))
        base += wrong
        log_odds[value] += math.log(p) - wrong
    logs = [base + v for v in log_odds.values()] + [base] * max(k - len(log_odds), 0)
    top = max(logs)
    total = sum(math.exp(x - top) for x in logs)
    return 1.0 / total


def gold_records(rows: list[Any], question: str) -> dict[int, tuple[int, int]]:
    """(right, seen) per annotator over gold answers (rows with ``user_id``, ``answers``, ``gold``)."""
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        mark = score(r.answers, r.gold, question)
        if mark is not None:
            out[int(r.user_id)][0] += mark
            out[int(r.user_id)][1] += 1
    return {user: (right, seen) for user, (right, seen) in out.items()}


def team_records(model: dict[str, Any]) -> dict[int, tuple[float, float]]:
    """(right, seen) gold answers per workforce, summed from a refresh's per-annotator figures."""
    out: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for figures in model.values():
        if figures.get("workforce_id") is not None and "gold_seen" in figures:
            out[int(figures["workforce_id"])][0] += float(figures["gold_right"])
            out[int(figures["workforce_id"])][1] += float(figures["gold_seen"])
    return {team: (right, seen) for team, (right, seen) in out.items()}


def accuracies(
    votes: list[Any], model: dict[str, Any], own_gold: dict[int, tuple[int, int]] | None = None
) -> dict[int, float]:
    """Each voter's estimated accuracy: their record, shrunk towards their workforce's gold record
    (itself shrunk towards the Beta prior), so a new member of a measured workforce starts from
    what the workforce has shown rather than from a guess.

    ``model`` is the last quality refresh's per-annotator figures (``workflows.quality._fit``).  A
    voter's record is what its fit of the project's method says of them (the mean posterior of the
    values they gave, over every answer, gold held fixed), or, before a refresh has seen them, their
    gold answers alone (``own_gold``, see ``gold_records``).  The workforces' records are the
    refresh's too (``team_records``).
    """
    teams = team_records(model)
    out: dict[int, float] = {}
    for v in votes:
        right, seen = teams.get(int(v.workforce_id), (0.0, 0.0)) if v.workforce_id is not None else (0.0, 0.0)
        prior = (right + PRIOR_RIGHT) / (seen + PRIOR_RIGHT + PRIOR_WRONG)
        fitted = model.get(str(int(v.user_id)))
        if fitted:
            own_seen = float(fitted["answers"])
            own_right = float(fitted["expected_accuracy"]) * own_seen
        else:
            own_right, own_seen = (own_gold or {}).get(int(v.user_id), (0, 0))
        out[int(v.user_id)] = (own_right + TEAM_WEIGHT * prior) / (own_seen + TEAM_WEIGHT)
    return out


def sure_enough(
    votes: list[Any], question: str, n_values: int, accuracy: dict[int, float], target: float
) -> bool:
    """Whether an item's votes settle it: at least ``MIN_VOTES`` of them, and the largest one-coin
    posterior with these accuracies at the target.

    Why one-coin and not the posterior of the fitted model itself: a full Dawid-Skene confusion
    matrix per annotator, estimated from a few hundred answers, has small off-diagonal cells that
    make single items look surer than they are.  Settling on it at a 0.99 target left 1.3% of the
    items it settled wrong in the vendor simulation's set-up (20 of about 1,570), against 0.5% (7 of
    about 1,510) with the one-coin posterior and the fit's accuracies.
    """
    weighted = [
        (repr(v.answers.get(question)), accuracy[int(v.user_id)])
        for v in votes
        if v.answers.get(question) is not None
    ]
    return len(weighted) >= MIN_VOTES and posterior(weighted, n_values) >= target


def settle_if_sure(hub: Assay, actor: Actor, project: Project, item_id: int) -> None:
    """Adaptive overlap: close a normal item once its label reaches the project's target confidence."""
    target = project.settings.target_confidence
    found = primary(project)
    if target is None or found is None:
        return
    question, values = found
    with hub.db.read() as conn:
        votes = gates.item_votes(conn, org_id=actor.org_id, item_id=item_id)
        if len(votes) < MIN_VOTES:
            return
        model = job_store.snapshot_workers(conn, org_id=actor.org_id, project_id=project.id)
        # Everything but the gold answers of voters the last refresh has not seen comes from its
        # snapshot: reading the workforces' gold answers here, after every answer, grew with the
        # project (584 ms at 300k answers, bench/service/gates.py).
        unseen = sorted({int(v.user_id) for v in votes if str(int(v.user_id)) not in model})
        rows = gates.gold_answers(conn, org_id=actor.org_id, project_id=project.id, user_ids=unseen)
    accuracy = accuracies(votes, model, gold_records(rows, question))
    if sure_enough(votes, question, len(values), accuracy, target):
        with hub.db.write() as conn:
            leases.settle(conn, item_id=item_id)


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
        gates.set_gold(conn, org_id=actor.org_id, item_id=item_id, gold=clean)
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
