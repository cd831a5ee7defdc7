"""Ordinal aggregation for ``rating`` answers: a bias-corrected mean per task.

Model: ``rating = score_task + bias_worker + noise``.  Alternating least squares (each step two
``np.bincount`` scatters) estimates both; a ridge ``shrinkage`` pulls the bias of a worker with few
answers towards zero (a worker rated only twice is not yet known to be harsh), and biases are
centred so scores stay on the rating scale.  ``labels_`` is the nearest point of the scale.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from assay.quality._types import FloatArray, IntArray
from assay.quality.answers import Answers


class OrdinalAggregator:
    """Results: ``scores_`` (per task), ``se_``, ``labels_`` (code of the nearest scale value),
    ``biases_`` (per worker: how much higher than the consensus they rate), ``loss_history_``."""

    scores_: FloatArray
    se_: FloatArray
    labels_: IntArray
    biases_: FloatArray
    loss_history_: list[float]
    answers_: Answers

    def __init__(self, *, shrinkage: float = 2.0, n_iter: int = 100, tol: float = 1e-8) -> None:
        self.shrinkage = shrinkage
        self.n_iter = n_iter
        self.tol = tol

    def fit(self, answers: Answers) -> Self:
        try:
            scale = np.asarray([float(v) for v in answers.labels.tolist()], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"ratings must be numbers, got labels {answers.labels.tolist()[:5]}; map them to a scale"
            ) from None
        value = scale[answers.label]
        n_t = np.bincount(answers.task, minlength=answers.n_tasks).astype(np.float64)
        n_w = np.bincount(answers.worker, minlength=answers.n_workers).astype(np.float64)
        bias = np.zeros(answers.n_workers)
        self.loss_history_ = []
        for _ in range(self.n_iter):
            score = np.bincount(answers.task, value - bias[answers.worker], answers.n_tasks) / np.maximum(
                n_t, 1
            )
            resid = value - score[answers.task]
            bias = np.bincount(answers.worker, resid, answers.n_workers) / (n_w + self.shrinkage)
            bias -= np.average(bias, weights=n_w)
            err = value - score[answers.task] - bias[answers.worker]
            self.loss_history_.append(float(np.mean(err**2)))
            if (
                len(self.loss_history_) > 1
                and abs(self.loss_history_[-1] - self.loss_history_[-2]) < self.tol
            ):
                break
        score = np.bincount(answers.task, value - bias[answers.worker], answers.n_tasks) / np.maximum(n_t, 1)
        sigma = float(np.sqrt(self.loss_history_[-1])) if self.loss_history_ else 0.0
        self.answers_ = answers
        self.scores_ = score
        self.biases_ = bias
        self.se_ = sigma / np.sqrt(np.maximum(n_t, 1))
        self.labels_ = np.abs(score[:, None] - scale[None, :]).argmin(axis=1).astype(np.intp)
        return self

    def label_map(self) -> dict[Any, Any]:
        """``{task: nearest scale value}``."""
        return dict(
            zip(self.answers_.tasks.tolist(), self.answers_.labels[self.labels_].tolist(), strict=True)
        )

    def score_map(self) -> dict[Any, float]:
        """``{task: bias-corrected score}``."""
        return dict(zip(self.answers_.tasks.tolist(), self.scores_.tolist(), strict=True))
