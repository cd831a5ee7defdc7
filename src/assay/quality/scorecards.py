"""Annotator and workforce scorecards: gold accuracy with Wilson intervals, agreement with the
consensus, estimated confusion matrices, throughput, spam flags and cost per accepted answer.

Every per-worker figure is one ``np.bincount`` over the answers; the per-workforce figures sum
the per-worker counts, so a scorecard costs time linear in the number of answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay.quality._base import Aggregator
from assay.quality.aggregate import aggregate
from assay.quality.answers import Answers
from assay.quality.gold import Proportion, proportion


@dataclass(frozen=True)
class WorkerCard:
    worker: Any
    workforce: str | None
    answers: int
    gold_accuracy: Proportion
    agreement: float  # share of answers equal to the consensus label
    answers_per_hour: float | None
    median_seconds: float | None
    too_fast: bool
    constant: bool  # nearly always gives the same label
    confusion: np.ndarray[Any, Any] | None  # [true, given], when the consensus model estimates one


@dataclass(frozen=True)
class WorkforceCard:
    name: str
    workers: int
    answers: int
    gold_accuracy: Proportion
    agreement: float
    answers_per_hour: float | None
    flagged_workers: int
    accepted: int
    cost_per_accepted: float | None


@dataclass(frozen=True)
class Scorecards:
    workers: list[WorkerCard]
    workforces: list[WorkforceCard]


def scorecards(
    answers: Answers,
    *,
    consensus: Aggregator | None = None,
    gold: Mapping[Any, Any] | None = None,
    duration_s: Sequence[float] | np.ndarray[Any, Any] | None = None,
    workforce: Mapping[Any, str] | None = None,
    costs: Mapping[str, float] | None = None,
    accepted: Sequence[bool] | np.ndarray[Any, Any] | None = None,
    too_fast_share: float = 0.25,
    constant_share: float = 0.95,
    min_answers: int = 10,
) -> Scorecards:
    """Score every worker and every workforce.

    ``consensus`` defaults to the default aggregator fitted here.  ``duration_s`` (per answer)
    gives throughput and the too-fast flag: a worker whose median time is under ``too_fast_share``
    of everyone's median.  A worker with at least ``min_answers`` answers is *constant* when one
    label makes up ``constant_share`` of them while it does not for the whole crowd.  ``costs``
    (total spend per workforce) over ``accepted`` answers (default: those equal to the consensus)
    gives the cost per accepted answer.
    """
    model = consensus if consensus is not None else aggregate(answers)
    n_w, k = answers.n_workers, answers.n_labels
    count = np.bincount(answers.worker, minlength=n_w)
    agree_mask = answers.label == model.labels_[answers.task]
    ok = agree_mask if accepted is None else np.asarray(accepted, dtype=bool)
    if len(ok) != len(answers):
        raise ValueError(f"accepted has {len(ok)} entries; give one per answer ({len(answers)})")
    agree = np.bincount(answers.worker, weights=agree_mask, minlength=n_w)
    accepted_n = np.bincount(answers.worker, weights=ok, minlength=n_w)

    gold_n: np.ndarray[Any, Any] = np.zeros(n_w)
    gold_k: np.ndarray[Any, Any] = np.zeros(n_w)
    if gold:
        g_tasks, g_labels = answers.encode_gold(gold)
        truth = np.full(answers.n_tasks, -2, dtype=np.intp)
        truth[g_tasks] = g_labels
        on_gold = truth[answers.task] != -2
        gold_n = np.bincount(answers.worker, weights=on_gold, minlength=n_w)
        gold_k = np.bincount(
            answers.worker, weights=on_gold & (answers.label == truth[answers.task]), minlength=n_w
        )

    per_label = np.bincount(answers.worker * k + answers.label, minlength=n_w * k).reshape(n_w, k)
    top_share = per_label.max(axis=1) / np.maximum(count, 1)
    crowd_top = np.bincount(answers.label, minlength=k).max() / len(answers)
    constant = (count >= min_answers) & (top_share >= constant_share) & (crowd_top < constant_share)

    medians: np.ndarray[Any, Any] | None = None
    seconds: np.ndarray[Any, Any] = np.zeros(n_w)
    too_fast = np.zeros(n_w, dtype=bool)
    if duration_s is not None:
        dur = np.asarray(duration_s, dtype=np.float64)
        if len(dur) != len(answers):
            raise ValueError(f"duration_s has {len(dur)} entries; give one per answer ({len(answers)})")
        seconds = np.bincount(answers.worker, weights=dur, minlength=n_w)
        order = np.lexsort((dur, answers.worker))  # by worker, then duration: medians by offset
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        sorted_dur = dur[order]
        lo = sorted_dur[np.minimum(start + (count - 1) // 2, len(dur) - 1)]
        hi = sorted_dur[np.minimum(start + count // 2, len(dur) - 1)]
        medians = np.where(count > 0, (lo + hi) / 2, np.nan)
        too_fast = medians < too_fast_share * float(np.median(dur))

    confusions = getattr(model, "confusions_", None)
    team = [None if workforce is None else workforce.get(w) for w in answers.workers.tolist()]
    cards = [
        WorkerCard(
            worker=w,
            workforce=team[i],
            answers=int(count[i]),
            gold_accuracy=proportion(k=int(gold_k[i]), n=int(gold_n[i])),
            agreement=float(agree[i] / count[i]) if count[i] else float("nan"),
            answers_per_hour=float(3600 * count[i] / seconds[i]) if seconds[i] > 0 else None,
            median_seconds=None if medians is None else float(medians[i]),
            too_fast=bool(too_fast[i]),
            constant=bool(constant[i]),
            confusion=None if confusions is None else confusions[i],
        )
        for i, w in enumerate(answers.workers.tolist())
    ]
    teams = []
    for name in sorted({t for t in team if t is not None}):
        members = np.asarray([t == name for t in team])
        n_ans = int(count[members].sum())
        n_ok = int(accepted_n[members].sum())
        spent = float(seconds[members].sum())
        cost = None if costs is None or name not in costs or n_ok == 0 else costs[name] / n_ok
        teams.append(
            WorkforceCard(
                name=name,
                workers=int(members.sum()),
                answers=n_ans,
                gold_accuracy=proportion(k=int(gold_k[members].sum()), n=int(gold_n[members].sum())),
                agreement=float(agree[members].sum() / n_ans) if n_ans else float("nan"),
                answers_per_hour=3600 * n_ans / spent if spent > 0 else None,
                flagged_workers=int((too_fast | constant)[members].sum()),
                accepted=n_ok,
                cost_per_accepted=cost,
            )
        )
    return Scorecards(workers=cards, workforces=teams)
