"""One-coin Dawid-Skene: each worker is right with probability ``p_w``, wrong uniformly otherwise.

One parameter per worker instead of a K x K matrix: steadier than full Dawid-Skene when workers
give few answers.  The E-step splits each answer's log-likelihood into a part shared by every
true label (``log q_w``, q = (1 - p) / (K - 1)) and a bonus for the label given (``log p_w - log q_w``);
both are scattered to tasks with ``np.bincount``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np

from assay.quality._base import (
    EPS,
    Aggregator,
    clamp,
    converged,
    gold_codes,
    normalise_rows,
    softmax_rows,
    vote_counts,
)
from assay.quality._types import FloatArray
from assay.quality.answers import Answers


class OneCoinDawidSkene(Aggregator):
    """One-coin EM from majority vote; ``skills_[w]`` is the probability worker ``w`` is right.

    ``n_iter`` caps the iterations, ``tol`` stops on the per-answer log-likelihood gain.
    ``gold`` in :meth:`fit` clamps known answers as in :class:`DawidSkene`.
    """

    skills_: FloatArray
    priors_: FloatArray

    def __init__(self, *, n_iter: int = 100, tol: float = 1e-5) -> None:
        self.n_iter = n_iter
        self.tol = tol

    def fit(self, answers: Answers, *, gold: Mapping[Any, Any] | None = None) -> Self:
        fixed = gold_codes(answers, gold)
        probas = clamp(normalise_rows(vote_counts(answers)), fixed)
        self.loss_history_ = []
        for _ in range(self.n_iter):
            priors, skills = self._m_step(answers, probas)
            probas, loglik = self._e_step(answers, priors, skills)
            probas = clamp(probas, fixed)
            self.loss_history_.append(loglik / len(answers))
            self._report(self.loss_history_)
            if converged(self.loss_history_, self.tol):
                break
        self.priors_, self.skills_ = self._m_step(answers, probas)
        self._finish(answers, probas)
        return self

    @staticmethod
    def _m_step(answers: Answers, probas: FloatArray) -> tuple[FloatArray, FloatArray]:
        right = probas[answers.task, answers.label]
        n = np.bincount(answers.worker, minlength=answers.n_workers)
        skills = np.bincount(answers.worker, weights=right, minlength=answers.n_workers) / np.maximum(n, 1)
        return np.clip(probas.mean(axis=0), EPS, None), np.clip(skills, EPS, 1 - EPS)

    @staticmethod
    def _e_step(answers: Answers, priors: FloatArray, skills: FloatArray) -> tuple[FloatArray, float]:
        return e_step(
            answers.task,
            answers.worker,
            answers.label,
            n_tasks=answers.n_tasks,
            n_labels=answers.n_labels,
            priors=priors,
            skills=skills,
        )


def e_step(
    task: np.ndarray[Any, Any],
    worker: np.ndarray[Any, Any],
    label: np.ndarray[Any, Any],
    *,
    n_tasks: int,
    n_labels: int,
    priors: FloatArray,
    skills: FloatArray,
) -> tuple[FloatArray, float]:
    """Task posteriors (rows) and the log-likelihood, for workers right with probability ``skills``."""
    k = n_labels
    log_p = np.log(skills)
    log_q = np.log((1 - skills) / max(k - 1, 1))
    base = np.bincount(task, weights=log_q[worker], minlength=n_tasks)
    bonus = np.bincount(task * k + label, weights=(log_p - log_q)[worker], minlength=n_tasks * k).reshape(
        n_tasks, k
    )
    return softmax_rows(base[:, None] + bonus + np.log(priors))


def confidence(votes: Sequence[tuple[Any, float]], n_labels: int) -> float:
    """The largest posterior of one task under the one-coin model with a uniform prior, from its
    (label, worker accuracy) votes; labels may be any hashable values (at most ``n_labels`` kinds).
    The same E-step as the fit, on one task: what adaptive overlap settles on."""
    if not votes:
        return 0.0
    k = max(n_labels, 2)
    codes: dict[Any, int] = {}
    label = np.asarray([codes.setdefault(value, len(codes)) for value, _ in votes], dtype=np.intp)
    skills = np.asarray([p for _, p in votes], dtype=np.float64)
    probas, _ = e_step(
        np.zeros(len(votes), dtype=np.intp),
        np.arange(len(votes), dtype=np.intp),
        label,
        n_tasks=1,
        n_labels=max(k, len(codes)),
        priors=np.full(max(k, len(codes)), 1.0 / max(k, len(codes))),
        skills=skills,
    )
    return float(probas[0].max())
