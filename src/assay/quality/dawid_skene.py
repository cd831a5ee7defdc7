"""Dawid-Skene: each worker has a full confusion matrix; true labels and matrices by EM.

Dawid & Skene (1979).  E-step: ``log p(z_t = k) = log prior_k + sum over t's answers of
log confusion[w, k, label]``, computed as one sparse product ``A @ L``.  M-step: expected counts
of (true label, given label) per worker, ``A.T @ posteriors``, plus optional Dirichlet
pseudo-counts, normalised per true label.
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
    incidence,
    normalise_rows,
    softmax_rows,
    vote_counts,
)
from assay.quality._types import FloatArray
from assay.quality.answers import Answers


class DawidSkene(Aggregator):
    """Dawid-Skene EM, initialised from majority vote.

    Parameters
    ----------
    n_iter: at most this many EM iterations.
    tol: stop when the mean log-likelihood per answer improves by less than this.
    smoothing: Dirichlet pseudo-count added to every cell of every confusion matrix.
    diagonal: extra pseudo-count on the diagonal (default 1): the prior belief that a worker is
        better than chance, which keeps workers with few answers from being fitted to noise and
        barely moves workers with many.  ``smoothing=0, diagonal=0`` is the plain maximum
        likelihood of the original paper.

    ``gold`` in :meth:`fit` (``{task: label}``) clamps known answers during EM: they are not
    estimated but used, with certainty, to estimate the workers' confusion matrices.

    Results: ``labels_``, ``probas_``, ``confusions_[w, true, given]``, ``priors_``,
    ``skills_[w]`` (the worker's probability of answering correctly, under ``priors_``),
    ``loss_history_`` (mean log-likelihood per answer, one entry per iteration).
    """

    confusions_: FloatArray
    priors_: FloatArray
    skills_: FloatArray

    def __init__(
        self, *, n_iter: int = 100, tol: float = 1e-5, smoothing: float = 0.0, diagonal: float = 1.0
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.smoothing = smoothing
        self.diagonal = diagonal

    def fit(self, answers: Answers, *, gold: Mapping[Any, Any] | None = None) -> Self:
        fixed = gold_codes(answers, gold)
        a, a_t = incidence(answers)
        n_w, k = answers.n_workers, answers.n_labels
        probas = clamp(normalise_rows(vote_counts(answers)), fixed)
        self.loss_history_ = []
        for _ in range(self.n_iter):
            priors = np.clip(probas.mean(axis=0), EPS, None)
            conf = m_step(a_t, probas, n_w, k, smoothing=self.smoothing, diagonal=self.diagonal)
            probas, loglik = e_step(a, np.log(priors), np.log(conf))
            probas = clamp(probas, fixed)
            self.loss_history_.append(loglik / len(answers))
            self._report(self.loss_history_)
            if converged(self.loss_history_, self.tol):
                break
        self.priors_ = np.clip(probas.mean(axis=0), EPS, None)
        self.confusions_ = m_step(a_t, probas, n_w, k, smoothing=self.smoothing, diagonal=self.diagonal)
        self.skills_ = np.einsum("k,wkk->w", self.priors_ / self.priors_.sum(), self.confusions_)
        self._finish(answers, probas)
        return self


def m_step(
    a_t: Any, probas: FloatArray, n_workers: int, k: int, *, smoothing: float = 0.0, diagonal: float = 0.0
) -> FloatArray:
    """Confusion matrices ``[worker, true, given]`` from posteriors (rows sum to one)."""
    counts = np.asarray(a_t @ probas).reshape(n_workers, k, k).transpose(0, 2, 1)
    counts = counts + smoothing + diagonal * np.eye(k)
    counts = np.clip(counts, EPS, None)
    conf: FloatArray = counts / counts.sum(axis=2, keepdims=True)
    return conf


def e_step(a: Any, log_priors: FloatArray, log_conf: FloatArray) -> tuple[FloatArray, float]:
    """Posteriors over true labels and the log-likelihood of all answers."""
    n_w, k, _ = log_conf.shape
    table = log_conf.transpose(0, 2, 1).reshape(n_w * k, k)  # row (worker, given) -> per true label
    log_p = np.asarray(a @ table)
    log_p += log_priors
    return softmax_rows(log_p)
