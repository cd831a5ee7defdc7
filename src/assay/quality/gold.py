"""Accuracy on gold with Wilson score intervals, and a test between two accuracies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from assay.quality._base import Aggregator


@dataclass(frozen=True)
class Proportion:
    """``value = k / n`` with a 95% (by default) Wilson interval ``[low, high]``."""

    value: float
    low: float
    high: float
    n: int
    k: int

    def as_dict(self) -> dict[str, float | int]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}


def wilson_interval(*, k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials; ``(0, 1)`` when ``n == 0``.

    Unlike the normal ("Wald") interval it stays inside [0, 1] and is honest for small ``n`` and
    for accuracies near 0 or 1, which is the usual case for gold questions.
    """
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"wilson_interval: need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    # The standard library's normal quantile: the pause gate calls this on the server, which
    # should not load SciPy for it.
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # In exact arithmetic the interval holds p, and reaches 0 (1) when k == 0 (k == n); rounding
    # can leave it a hair short (1 - 2e-16 for 12/12), so the ends are pinned where they belong.
    low = 0.0 if k == 0 else min(p, max(0.0, centre - half))
    high = 1.0 if k == n else max(p, min(1.0, centre + half))
    return low, high


def proportion(*, k: int, n: int, confidence: float = 0.95) -> Proportion:
    low, high = wilson_interval(k=k, n=n, confidence=confidence)
    return Proportion(value=k / n if n else float("nan"), low=low, high=high, n=n, k=k)


def accuracy(result: Aggregator, gold: Mapping[Any, Any]) -> Proportion:
    """Share of gold tasks (that have answers) whose aggregated label equals the gold label."""
    tasks, labels = result.answers_.encode_gold(gold)
    hits = int(np.count_nonzero(result.labels_[tasks] == labels))
    return proportion(k=hits, n=len(tasks))


@dataclass(frozen=True)
class AccuracyTest:
    """Difference ``a - b`` of two accuracies and the two-sided p-value of Fisher's exact test."""

    difference: float
    p_value: float


def compare_accuracy(a: Proportion, b: Proportion) -> AccuracyTest:
    """Is one workforce's gold accuracy different from another's?  Fisher's exact test on the 2x2
    table (right/wrong by workforce): exact, so valid for the small gold samples typical per vendor.
    """
    if a.n == 0 or b.n == 0:
        raise ValueError("compare_accuracy: both groups need at least one gold answer")
    from scipy import stats

    table = [[a.k, a.n - a.k], [b.k, b.n - b.k]]
    p_value = float(stats.fisher_exact(table).pvalue)
    return AccuracyTest(difference=a.k / a.n - b.k / b.n, p_value=p_value)
