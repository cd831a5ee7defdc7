"""Bradley-Terry scores for pairwise preferences and rankings, and a noisy-annotator variant.

``P(i beats j) = sigmoid(s_i - s_j)``.  Scores maximise the log-likelihood with a small ridge
penalty (so an item that never lost keeps a finite score) by Newton's method; the Hessian is built
with one ``np.bincount`` over the comparisons, and its inverse gives the standard errors behind the
95% intervals.  Ties count half a win each way.  ``NoisyBradleyTerry`` adds one reliability per
annotator: with probability ``1 - skill`` an annotator answers at random, and EM down-weights the
comparisons that look random.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from assay.quality._types import FloatArray, IntArray

# The 97.5% normal quantile, written out: importing scipy.stats for it costs 40 MB and a second.
Z95 = 1.959963984540054


@dataclass(frozen=True, eq=False)
class Comparisons:
    """``left[i]`` vs ``right[i]`` (item codes) with ``outcome[i]``: 1 left wins, 0 right wins, 0.5 tie."""

    left: IntArray
    right: IntArray
    outcome: FloatArray
    worker: IntArray
    items: np.ndarray[Any, Any]
    workers: np.ndarray[Any, Any]

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> Comparisons:
        """Rows ``(left, right, outcome[, worker])``; outcome 1/0/0.5 or "left"/"right"/"tie"."""
        words = {"left": 1.0, "right": 0.0, "tie": 0.5}
        lefts, rights, outcomes, workers = [], [], [], []
        for i, row in enumerate(rows):
            if len(row) not in (3, 4):
                raise ValueError(
                    f"row {i + 1}: expected (left, right, outcome[, worker]), got {len(row)} values"
                )
            raw = row[2]
            value = words.get(raw) if isinstance(raw, str) else float(raw)
            if value is None or not 0.0 <= value <= 1.0 or row[0] == row[1]:
                raise ValueError(
                    f"row {i + 1}: outcome must be 1/0/0.5 or left/right/tie and the two items must differ"
                )
            lefts.append(row[0])
            rights.append(row[1])
            outcomes.append(value)
            workers.append(row[3] if len(row) == 4 else "")
        if not lefts:
            raise ValueError("no comparisons: give at least one (left, right, outcome)")
        items, codes = np.unique(np.asarray(lefts + rights, dtype=object).astype(str), return_inverse=True)
        worker_book, worker_codes = np.unique(
            np.asarray(workers, dtype=object).astype(str), return_inverse=True
        )
        n = len(lefts)
        return cls(
            left=codes[:n].astype(np.intp),
            right=codes[n:].astype(np.intp),
            outcome=np.asarray(outcomes, dtype=np.float64),
            worker=worker_codes.astype(np.intp),
            items=items.astype(object),
            workers=worker_book.astype(object),
        )

    @classmethod
    def from_rankings(
        cls, rankings: Iterable[Sequence[Sequence[Any]]], *, workers: Sequence[Any] | None = None
    ) -> Comparisons:
        """From rankings as groups best first (``[["b"], ["a", "c"]]``): every pair, ties within a group."""
        rows: list[tuple[Any, Any, float, Any]] = []
        for r, groups in enumerate(rankings):
            who = workers[r] if workers is not None else ""
            for g, group in enumerate(groups):
                rows += [(a, b, 0.5, who) for i, a in enumerate(group) for b in group[i + 1 :]]
                rows += [(a, b, 1.0, who) for a in group for later in groups[g + 1 :] for b in later]
        return cls.from_rows(rows)


class BradleyTerry:
    """Bradley-Terry by penalised Newton; results ``scores_``, ``se_``, ``low_``, ``high_``."""

    scores_: FloatArray
    se_: FloatArray
    low_: FloatArray
    high_: FloatArray
    loss_history_: list[float]
    comparisons_: Comparisons

    def __init__(self, *, penalty: float = 0.01, n_iter: int = 100, tol: float = 1e-9) -> None:
        self.penalty = penalty
        self.n_iter = n_iter
        self.tol = tol

    def fit(self, comparisons: Comparisons, *, weights: FloatArray | None = None) -> Self:
        self.comparisons_ = comparisons
        k = len(comparisons.items)
        w = np.ones(len(comparisons.outcome)) if weights is None else weights
        scores = np.zeros(k)
        self.loss_history_ = []
        for _ in range(self.n_iter):
            grad, hess, loglik = _derivatives(comparisons, w, scores, self.penalty)
            scores = scores - np.linalg.solve(hess, grad)
            self.loss_history_.append(loglik / max(w.sum(), 1.0))
            if (
                len(self.loss_history_) > 1
                and abs(self.loss_history_[-1] - self.loss_history_[-2]) < self.tol
            ):
                break
        _, hess, _ = _derivatives(comparisons, w, scores, self.penalty)
        self.scores_ = scores
        self.se_ = np.sqrt(np.clip(np.diag(np.linalg.inv(-hess)), 0, None))
        self.low_, self.high_ = scores - Z95 * self.se_, scores + Z95 * self.se_
        return self

    def ranking(self) -> list[tuple[Any, float, float, float]]:
        """``(item, score, low, high)``, best first."""
        order = np.argsort(-self.scores_, kind="stable")
        items = self.comparisons_.items
        return [(items[i], float(self.scores_[i]), float(self.low_[i]), float(self.high_[i])) for i in order]


def _derivatives(
    c: Comparisons, w: FloatArray, scores: FloatArray, penalty: float
) -> tuple[FloatArray, FloatArray, float]:
    k = len(scores)
    d = scores[c.left] - scores[c.right]
    p = 1 / (1 + np.exp(-d))
    loglik = float(np.sum(w * (c.outcome * -np.logaddexp(0, -d) + (1 - c.outcome) * -np.logaddexp(0, d))))
    resid = w * (c.outcome - p)
    grad = np.bincount(c.left, resid, k) - np.bincount(c.right, resid, k) - penalty * scores
    curv = w * p * (1 - p)
    pairs = np.bincount(c.left * k + c.right, curv, k * k).reshape(k, k)
    pairs = pairs + pairs.T
    hess = pairs - np.diag(pairs.sum(axis=1)) - penalty * np.eye(k)
    return grad, hess, loglik


class NoisyBradleyTerry(BradleyTerry):
    """Bradley-Terry with a reliability ``skills_[w]`` per annotator, by EM.

    An annotator pays attention with probability ``skill`` (then answers by Bradley-Terry) or
    answers at random.  E-step: the posterior that each comparison was attentive; M-step: skills
    (with a Beta(2, 1) prior that annotators mostly pay attention) and a weighted Bradley-Terry fit.
    """

    skills_: FloatArray

    def __init__(self, *, penalty: float = 0.01, n_iter: int = 50, tol: float = 1e-6) -> None:
        super().__init__(penalty=penalty, n_iter=100, tol=1e-9)
        self.em_iter = n_iter
        self.em_tol = tol

    def fit(self, comparisons: Comparisons, *, weights: FloatArray | None = None) -> Self:
        n_w = len(comparisons.workers)
        skills = np.full(n_w, 0.8)
        attentive = np.ones(len(comparisons.outcome))
        history: list[float] = []
        for _ in range(self.em_iter):
            super().fit(comparisons, weights=attentive)
            d = self.scores_[comparisons.left] - self.scores_[comparisons.right]
            p = 1 / (1 + np.exp(-d))
            lik = comparisons.outcome * p + (1 - comparisons.outcome) * (1 - p)
            g = skills[comparisons.worker]
            mixed = g * lik + (1 - g) * 0.5
            attentive = g * lik / mixed
            n = np.bincount(comparisons.worker, minlength=n_w)
            skills = (np.bincount(comparisons.worker, attentive, n_w) + 1) / (n + 1)
            history.append(float(np.mean(np.log(mixed))))
            if len(history) > 1 and abs(history[-1] - history[-2]) < self.em_tol:
                break
        self.skills_ = skills
        self.loss_history_ = history
        return self
