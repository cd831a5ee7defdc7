"""Inter-annotator agreement: percent agreement, Cohen's (Light's) kappa, Fleiss' kappa and
Krippendorff's alpha (nominal, ordinal, interval), each with a 95% bootstrap interval.

Every coefficient is written as a function of per-item weights (1 for every item at the point
estimate), so a bootstrap replicate is the same computation with multinomial item counts: no data
is copied per replicate and the cost of one replicate is linear in the number of answers.
Items with fewer than two answers carry no information about agreement and are left out, which is
how missing data is handled (Krippendorff's alpha is defined for it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

from assay.quality._types import FloatArray, IntArray
from assay.quality.answers import Answers

Level = Literal["nominal", "ordinal", "interval"]
Statistic = Callable[[FloatArray], float]


@dataclass(frozen=True)
class Agreement:
    """A coefficient with its 95% bootstrap interval over items."""

    metric: str
    level: str
    value: float
    low: float
    high: float
    n_items: int

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "metric": self.metric,
            "level": self.level,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "n_items": self.n_items,
        }


def bootstrap_interval(
    statistic: Statistic, *, n_items: int, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of ``statistic(item_weights)`` over ``n_boot`` item resamples."""
    if n_boot <= 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = np.empty(n_boot)
    for b in range(n_boot):
        weights = np.bincount(rng.integers(0, n_items, n_items), minlength=n_items).astype(np.float64)
        values[b] = statistic(weights)
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def item_counts(answers: Answers) -> sp.csr_matrix:
    """Answers per (item, label) for the items with at least two answers (the pairable ones)."""
    counts = sp.csr_matrix(
        (np.ones(len(answers)), (answers.task, answers.label)), shape=(answers.n_tasks, answers.n_labels)
    )
    counts.sum_duplicates()
    m = np.asarray(counts.sum(axis=1)).ravel()
    pairable = counts[m >= 2]
    if pairable.shape[0] == 0:
        raise ValueError("no item has two or more answers, so agreement cannot be measured")
    return sp.csr_matrix(pairable)


def _run(metric: str, level: str, statistic: Statistic, n_items: int, n_boot: int, seed: int) -> Agreement:
    value = float(statistic(np.ones(n_items)))
    low, high = bootstrap_interval(statistic, n_items=n_items, n_boot=n_boot, seed=seed)
    return Agreement(metric=metric, level=level, value=value, low=low, high=high, n_items=n_items)


def _pair_stats(counts: sp.csr_matrix) -> tuple[FloatArray, FloatArray]:
    """Per item: number of answers ``m`` and share of agreeing ordered answer pairs."""
    m = np.asarray(counts.sum(axis=1)).ravel()
    same = np.asarray(counts.multiply(counts).sum(axis=1)).ravel() - m
    return m, same / (m * (m - 1))


def percent_agreement(answers: Answers, *, n_boot: int = 1000, seed: int = 0) -> Agreement:
    """Mean over items of the share of answer pairs that agree."""
    m, p_item = _pair_stats(item_counts(answers))

    def stat(w: FloatArray) -> float:
        return float(w @ p_item / w.sum())

    return _run("percent", "nominal", stat, len(m), n_boot, seed)


def fleiss_kappa(answers: Answers, *, n_boot: int = 1000, seed: int = 0) -> Agreement:
    """Fleiss' kappa, generalised to a varying number of answers per item."""
    counts = item_counts(answers)
    m, p_item = _pair_stats(counts)

    def stat(w: FloatArray) -> float:
        p_bar = w @ p_item / w.sum()
        p_label = (counts.T @ w) / (w @ m)
        p_e = float(np.sum(p_label**2))
        return float((p_bar - p_e) / (1 - p_e)) if p_e < 1 else float("nan")

    return _run("fleiss", "nominal", stat, len(m), n_boot, seed)


def cohen_kappa(answers: Answers, *, n_boot: int = 1000, seed: int = 0) -> Agreement:
    """Cohen's kappa for two workers; with more, Light's kappa (the mean of Cohen's kappa over
    every pair of workers that share at least one item)."""
    task, first, second = _answer_pairs(answers)
    if not len(task):
        raise ValueError("no two workers answered the same item, so Cohen's kappa cannot be measured")
    wa, wb = answers.worker[first], answers.worker[second]
    la, lb = answers.label[first], answers.label[second]
    # Orient every pair (lower worker code first) so a worker pair is one group.
    swap = wa > wb
    wa, wb = np.where(swap, wb, wa), np.where(swap, wa, wb)
    la, lb = np.where(swap, lb, la), np.where(swap, la, lb)
    pair_ids, group = np.unique(wa * answers.n_workers + wb, return_inverse=True)
    n_pairs, k = len(pair_ids), answers.n_labels
    items, item_of_row = np.unique(task, return_inverse=True)
    agree = (la == lb).astype(np.float64)

    def stat(w_item: FloatArray) -> float:
        w = w_item[item_of_row]
        n = np.bincount(group, weights=w, minlength=n_pairs)
        p_o = np.bincount(group, weights=w * agree, minlength=n_pairs)
        marg_a = np.bincount(group * k + la, weights=w, minlength=n_pairs * k).reshape(n_pairs, k)
        marg_b = np.bincount(group * k + lb, weights=w, minlength=n_pairs * k).reshape(n_pairs, k)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = p_o / n
            p_e = np.sum(marg_a * marg_b, axis=1) / n**2
            kappa = (share - p_e) / (1 - p_e)
        kappa = kappa[np.isfinite(kappa)]
        return float(kappa.mean()) if len(kappa) else float("nan")

    return _run("cohen", "nominal", stat, len(items), n_boot, seed)


def _answer_pairs(answers: Answers) -> tuple[IntArray, IntArray, IntArray]:
    """All pairs of answers (row indices) to the same task by different workers.

    After sorting by task, answer ``p`` pairs with ``p + d`` for every offset ``d`` below the
    largest overlap: a loop over offsets (a handful), never over answers.
    """
    order = np.argsort(answers.task, kind="stable")
    task = answers.task[order]
    max_m = int(np.bincount(task).max())
    firsts, seconds = [], []
    for d in range(1, max_m):
        same = task[d:] == task[:-d]
        firsts.append(order[:-d][same])
        seconds.append(order[d:][same])
    if not firsts:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty, empty
    first, second = np.concatenate(firsts), np.concatenate(seconds)
    distinct = answers.worker[first] != answers.worker[second]
    first, second = first[distinct], second[distinct]
    return answers.task[first], first, second


def label_values(answers: Answers, level: Level) -> FloatArray:
    """Numeric value of each label for the interval metric (ordinal uses code-book order)."""
    if level != "interval":
        return np.arange(answers.n_labels, dtype=np.float64)
    try:
        return np.asarray([float(v) for v in answers.labels.tolist()], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"interval agreement needs numeric labels, got {answers.labels.tolist()[:5]}; "
            "use level='nominal' or 'ordinal'"
        ) from None


def distance(level: Level, values: FloatArray, n_c: FloatArray) -> FloatArray:
    """Krippendorff's squared difference ``delta[c, k]`` between label values."""
    k = len(values)
    if level == "nominal":
        return 1.0 - np.eye(k)
    if level == "interval":
        return (values[:, None] - values[None, :]) ** 2
    if level == "ordinal":
        cum = np.cumsum(n_c)
        lo, hi = np.minimum.outer(np.arange(k), np.arange(k)), np.maximum.outer(np.arange(k), np.arange(k))
        between = cum[hi] - cum[lo] + n_c[lo]  # sum of n_g for g from lo to hi
        return (between - (n_c[:, None] + n_c[None, :]) / 2) ** 2
    raise ValueError(f"level {level!r}: choose nominal, ordinal or interval")


def krippendorff_alpha(
    answers: Answers, *, level: Level = "nominal", n_boot: int = 1000, seed: int = 0
) -> Agreement:
    """Krippendorff's alpha from the coincidence matrix; missing answers allowed.

    ``alpha = 1 - (n - 1) * sum(o * delta) / sum(n_c n_k delta)`` (Krippendorff, 2011).
    """
    counts = item_counts(answers)
    values = label_values(answers, level)
    m = np.asarray(counts.sum(axis=1)).ravel()
    distance(level, values, np.ones(len(values)))  # refuse an unknown level before any work

    def stat(w: FloatArray) -> float:
        scale = w / (m - 1)
        o = np.asarray((counts.T @ counts.multiply(scale[:, None])).todense())
        n_c = np.asarray(counts.T @ w).ravel()
        o -= np.diag(np.asarray(counts.T @ scale).ravel())
        n = n_c.sum()
        delta = distance(level, values, n_c)
        expected = float(n_c @ delta @ n_c)
        if expected <= 0:
            return float("nan")
        return 1.0 - float(n - 1) * float(np.sum(o * delta)) / expected

    return _run("krippendorff", level, stat, len(m), n_boot, seed)


def agreement(
    answers: Answers,
    *,
    metric: str = "krippendorff",
    level: Level | str = "nominal",
    n_boot: int = 1000,
    seed: int = 0,
) -> Agreement:
    """Dispatch by metric name: krippendorff, fleiss, cohen or percent."""
    if metric == "krippendorff":
        if level not in ("nominal", "ordinal", "interval"):
            raise ValueError(f"level {level!r}: choose nominal, ordinal or interval")
        return krippendorff_alpha(answers, level=level, n_boot=n_boot, seed=seed)
    funcs = {"fleiss": fleiss_kappa, "cohen": cohen_kappa, "percent": percent_agreement}
    if metric not in funcs:
        raise ValueError(f"metric {metric!r}: choose krippendorff, fleiss, cohen or percent")
    return funcs[metric](answers, n_boot=n_boot, seed=seed)
