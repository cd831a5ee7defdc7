"""Adaptive overlap: each item keeps receiving answers until its label is sure enough, or ``overlap``
(the cap) is reached.

The estimate, and why: an item's posterior over the first categorical
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

from collections import defaultdict
from typing import Any

from assay.app import Assay
from assay.domain.answers import gold_mark
from assay.domain.people import Actor
from assay.storage import counters, gates
from assay.storage import jobs as job_store
from assay.workflows import fitted
from assay.workflows.fitted import Fit
from assay.workflows.projects import Project

PRIOR_RIGHT, PRIOR_WRONG = 3.0, 1.0
TEAM_WEIGHT = 4.0  # pseudo-answers a workforce's record counts for in a member's estimate
MIN_VOTES = 2  # one answer never settles an item: its author's record is not evidence about this item


def posterior(votes: list[tuple[Any, float]], n_values: int) -> float:
    """Largest posterior probability of an item's value from (value, annotator accuracy) votes: the
    quality engine's one-coin E-step on this one item, accuracies kept within [0.001, 0.999]."""
    from assay.quality.one_coin import confidence

    return confidence([(value, min(max(p, 1e-3), 1 - 1e-3)) for value, p in votes], n_values)


def gold_records(rows: list[Any], question: str, *, own: bool = False) -> dict[int, tuple[int, int]]:
    """(right, seen) per annotator over gold answers (rows with ``user_id``, ``answers``, ``gold``;
    ``own``: score ``own_answers`` instead, the author's answer before any reviewer's change)."""
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        mark = gold_mark(r.own_answers if own else r.answers, r.gold, question)
        if mark is not None:
            out[int(r.user_id)][0] += mark
            out[int(r.user_id)][1] += 1
    return {user: (right, seen) for user, (right, seen) in out.items()}


def team_records(model: Fit) -> dict[int, tuple[float, float]]:
    """(right, seen) gold answers per workforce, summed from a refresh's per-annotator figures."""
    out: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for figures in model.values():
        if figures.workforce_id is not None:
            out[figures.workforce_id][0] += figures.gold_right
            out[figures.workforce_id][1] += figures.gold_seen
    return {team: (right, seen) for team, (right, seen) in out.items()}


def accuracies(
    votes: list[Any], model: Fit, own_gold: dict[int, tuple[int, int]] | None = None
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
        fitted = model.get(int(v.user_id))
        if fitted is not None:
            own_seen = float(fitted.answers)
            own_right = fitted.expected_accuracy * own_seen
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
    found = project.schema.primary()
    if target is None or found is None:
        return
    question, values = found
    with hub.db.read() as conn:
        votes = gates.item_votes(conn, org_id=actor.org_id, item_id=item_id)
        if len(votes) < MIN_VOTES:
            return
        model = fitted.load(job_store.snapshot_workers(conn, org_id=actor.org_id, project_id=project.id))
        # Everything but the gold answers of voters the last refresh has not seen comes from its
        # snapshot: reading the workforces' gold answers here, after every answer, grew with the
        # project (584 ms at 300k answers, bench/service/gates.py).
        unseen = sorted({int(v.user_id) for v in votes if int(v.user_id) not in model})
        rows = gates.gold_answers(conn, org_id=actor.org_id, project_id=project.id, user_ids=unseen)
    accuracy = accuracies(votes, model, gold_records(rows, question))
    if sure_enough(votes, question, len(values), accuracy, target):
        with hub.db.write() as conn:
            counters.settle(conn, item_id=item_id)
