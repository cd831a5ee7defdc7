"""One-coin Dawid-Skene: each worker is right with probability ``p_w``, wrong uniformly otherwise.

One parameter per worker instead of a K x K matrix: steadier than full Dawid-Skene when workers
give few answers.  The E-step splits each answer's log-likelihood into a part shared by every
true label (``log q_w``, q = (1 - p) / (K - 1)) and a bonus for the label given (``log p_w - log q_w``);
both are scattered to tasks with ``np.bincount``.
"""

from __future__ import annotations

from collections.abc import Mapping
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
        k = answers.n_labels
        log_p = np.log(skills)
        log_q = np.log((1 - skills) / max(k - 1, 1))
        base = np.bincount(answers.task, weights=log_q[answers.worker], minlength=answers.n_tasks)
        bonus = np.bincount(
            answers.task * k + answers.label,
            weights=(log_p - log_q)[answers.worker],
            minlength=answers.n_tasks * k,
        ).reshape(answers.n_tasks, k)
        return softmax_rows(base[:, None] + bonus + np.log(priors))
