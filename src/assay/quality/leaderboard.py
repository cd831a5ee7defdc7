"""A model leaderboard from pairwise battles: Bradley-Terry on the Elo scale, with bootstrap intervals.

A battle is ``(model_a, model_b, outcome)``: 1 when ``a`` won, 0 when ``b`` won, 0.5 for a tie (a
tie counts as half a win each way, as LMSYS's ``compute_mle_elo`` does by doubling the battle).  The
scores maximise the Bradley-Terry likelihood (``assay.quality.BradleyTerry``, with a ridge penalty
small enough not to move a rating by a tenth of a point on real data) and are reported on the Elo
scale of LMSYS's arena: ``rating = 1000 + 400 / ln 10 * (score - mean score)``, so that 400 points
are a 10:1 odds.

Intervals: the battles are resampled with replacement ``n_boot`` times (the same resamples for
every model) and each model's 2.5% and 97.5% percentiles of its rating are its 95% interval.
``rank`` is 1 + the number of models whose lower bound lies above this model's upper bound: models
whose intervals overlap share a rank.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from assay.quality.bradley_terry import BradleyTerry, Comparisons

__all__ = ["ELO_BASE", "ELO_SCALE", "leaderboard"]

ELO_BASE = 1000.0
ELO_SCALE = 400.0 / math.log(10)
PENALTY = 1e-6


def _ratings(comparisons: Comparisons, weights: np.ndarray[Any, Any] | None) -> np.ndarray[Any, Any]:
    scores = BradleyTerry(penalty=PENALTY, n_iter=200, tol=1e-12).fit(comparisons, weights=weights).scores_
    out: np.ndarray[Any, Any] = ELO_BASE + ELO_SCALE * (scores - scores.mean())
    return out


def leaderboard(
    battles: Sequence[tuple[Any, Any, float]], *, n_boot: int = 200, seed: int = 0
) -> list[dict[str, Any]]:
    """``[{model, rating, low, high, rank, battles, wins, ties}]``, best first (empty without battles)."""
    rows = [(str(a), str(b), float(o)) for a, b, o in battles if str(a) != str(b)]
    if not rows:
        return []
    comparisons = Comparisons.from_rows(rows)
    k = len(comparisons.items)
    rating = _ratings(comparisons, None)
    rng = np.random.default_rng(seed)
    n = len(rows)
    samples = np.empty((n_boot, k))
    for b in range(n_boot):
        weights = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        samples[b] = _ratings(comparisons, weights)
    low, high = np.percentile(samples, [2.5, 97.5], axis=0) if n_boot else (rating, rating)
    fought = np.bincount(comparisons.left, minlength=k) + np.bincount(comparisons.right, minlength=k)
    outcome = comparisons.outcome
    wins = np.bincount(comparisons.left, outcome == 1.0, k) + np.bincount(
        comparisons.right, outcome == 0.0, k
    )
    ties = np.bincount(comparisons.left, outcome == 0.5, k) + np.bincount(
        comparisons.right, outcome == 0.5, k
    )
    out: list[dict[str, Any]] = [
        {
            "model": str(comparisons.items[i]),
            "rating": float(rating[i]),
            "low": float(low[i]),
            "high": float(high[i]),
            "rank": 1 + int(np.sum(low > high[i])),
            "battles": int(fought[i]),
            "wins": int(wins[i]),
            "ties": int(ties[i]),
        }
        for i in range(k)
    ]
    out.sort(key=lambda m: (-m["rating"], m["model"]))
    return out
