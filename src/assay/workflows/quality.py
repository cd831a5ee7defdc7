"""Project quality: agreement with intervals and annotator / workforce scorecards.

Built on ``assay.quality``: every categorical question (``choice``, ``rating``, ``preference``)
gets Krippendorff's alpha (nominal for choices, ordinal for scales) with a bootstrap interval; the
first one also drives the scorecards (gold accuracy with Wilson intervals, agreement with the
consensus of the default aggregator, throughput, spam flags, cost per accepted answer).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.storage import answers as answer_store
from assay.storage import gates as gate_store
from assay.workflows import access, gates, workforces
from assay.workflows import projects as project_flows

if TYPE_CHECKING:
    from assay import quality

CATEGORICAL = {"choice": "nominal", "rating": "ordinal", "preference": "ordinal"}
BOOTSTRAP = 500


def _num(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _proportion(p: quality.Proportion) -> dict[str, Any]:
    """JSON has no NaN: an accuracy over no gold answers is null, with n = 0."""
    return {key: _num(value) if isinstance(value, float) else value for key, value in p.as_dict().items()}


def _agreement(rows: list[tuple[Any, str, Any]], level: str) -> dict[str, Any] | None:
    from assay import quality

    if len({r[0] for r in rows}) < 2 or len({r[1] for r in rows}) < 2:
        return None
    try:
        result = quality.agreement(
            quality.Answers.from_rows(rows), metric="krippendorff", level=level, n_boot=BOOTSTRAP, seed=0
        )
    except ValueError:  # e.g. every pairable item answered once: nothing to agree on
        return None
    return {
        "metric": "krippendorff_alpha",
        "level": level,
        "value": _num(result.value),
        "low": _num(result.low),
        "high": _num(result.high),
        "n_items": result.n_items,
    }


def _adaptive(project: Any, n_items: int, n_settled: int, settled_answers: int) -> dict[str, Any]:
    """How many answers adaptive overlap saved: a settled item would otherwise have taken the cap."""
    overlap = project.settings.overlap
    return {
        "target_confidence": project.settings.target_confidence,
        "overlap": overlap,
        "items": n_items,
        "settled_items": n_settled,
        "answers_saved": max(overlap * n_settled - settled_answers, 0),
    }


def project_quality(hub: Assay, actor: Actor, project_id: int) -> dict[str, Any]:
    # Imported here: the server should not load NumPy/SciPy until someone asks for quality.
    from assay import quality

    project = project_flows.get(hub, actor, project_id, action="project.quality")
    access.require(
        hub, actor, Role.REVIEWER, action="project.quality", object_type="project", object_id=project_id
    )
    scope = workforces.compartment(hub, actor)
    with hub.db.read() as conn:
        rows = answer_store.project_answers(conn, org_id=actor.org_id, project_id=project.id)
        cost_rows = answer_store.workforce_costs(conn, org_id=actor.org_id)
        n_items, n_settled, settled_answers = gate_store.settled_counts(
            conn, org_id=actor.org_id, project_id=project.id
        )
    if scope is not None:
        # A vendor's reviewer sees their own workforce's answers and people only.
        rows = [r for r in rows if r.workforce == actor.workforce_name]
    questions = [q for q in project.schema.questions if q.kind in CATEGORICAL]
    per_question: dict[str, Any] = {}
    votes: dict[str, list[tuple[Any, str, Any]]] = defaultdict(list)
    for row in rows:
        for q in questions:
            value = row.answers.get(q.name)
            if value is not None:
                votes[q.name].append((int(row.item_id), row.annotator, value))
    for q in questions:
        per_question[q.name] = _agreement(votes[q.name], CATEGORICAL[q.kind])
    out: dict[str, Any] = {
        "ok": True,
        "project_id": project.id,
        "answers": len(rows),
        "question": questions[0].name if questions else None,
        "agreement": per_question.get(questions[0].name) if questions else None,
        "questions": per_question,
        "annotators": [],
        "workforces": [],
        "paused": gates.pauses(hub, actor, project, workforce_id=scope),
        "adaptive_overlap": _adaptive(project, n_items, n_settled, settled_answers),
    }
    if not questions or not votes[questions[0].name]:
        return out
    primary = questions[0].name
    primary_rows = [r for r in rows if r.answers.get(primary) is not None]
    answers = quality.Answers.from_rows(
        [(int(r.item_id), r.annotator, r.answers[primary]) for r in primary_rows]
    )
    gold = {
        int(r.item_id): r.gold[primary] for r in primary_rows if r.is_gold and r.gold and primary in r.gold
    }
    durations = [r.duration_ms for r in primary_rows]
    team = {r.annotator: r.workforce for r in primary_rows if r.workforce}
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for r in primary_rows:
        if r.workforce:
            counts[r.workforce] += 1
            seconds[r.workforce] += (r.duration_ms or 0) / 1000
    costs: dict[str, float] = {}
    for c in cost_rows:
        if c.cost_per_answer is not None:
            costs[c.name] = c.cost_per_answer * counts.get(c.name, 0)
        elif c.cost_per_hour is not None:
            costs[c.name] = c.cost_per_hour * seconds.get(c.name, 0.0) / 3600
    cards = quality.scorecards(
        answers,
        gold=gold or None,
        duration_s=[d / 1000 for d in durations] if all(d is not None for d in durations) else None,
        workforce=team,
        costs=costs or None,
    )
    out["annotators"] = [
        {
            "user": c.worker,
            "workforce": c.workforce,
            "answers": c.answers,
            "gold_accuracy": _proportion(c.gold_accuracy),
            "agreement_with_consensus": _num(c.agreement),
            "answers_per_hour": _num(c.answers_per_hour),
            "median_seconds": _num(c.median_seconds),
            "too_fast": c.too_fast,
            "constant": c.constant,
        }
        for c in cards.workers
    ]
    out["workforces"] = [
        {
            "name": w.name,
            "workers": w.workers,
            "answers": w.answers,
            "gold_accuracy": _proportion(w.gold_accuracy),
            "agreement_with_consensus": _num(w.agreement),
            "answers_per_hour": _num(w.answers_per_hour),
            "flagged_workers": w.flagged_workers,
            "accepted": w.accepted,
            "cost_per_accepted": _num(w.cost_per_accepted),
        }
        for w in cards.workforces
    ]
    return out
