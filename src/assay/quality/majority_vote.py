"""Majority vote: the label most workers gave; the baseline and the start of every EM method."""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from assay.quality._base import Aggregator, normalise_rows, vote_counts
from assay.quality._types import FloatArray
from assay.quality.answers import Answers


class MajorityVote(Aggregator):
    """Each task gets its most frequent label; ``probas_`` are the vote shares.

    ``skills_[w]`` is the share of worker ``w``'s answers that agree with the majority.
    Ties go to the label given most often overall, then to the first in the code book.
    """

    skills_: FloatArray

    def fit(self, answers: Answers) -> Self:
        self._finish(answers, normalise_rows(vote_counts(answers)))
        self.skills_ = agreement_with(answers, self.labels_)
        self.loss_history_ = []
        return self


def agreement_with(answers: Answers, consensus: np.ndarray[Any, Any]) -> FloatArray:
    """Per worker, the share of their answers equal to ``consensus[task]``."""
    hits = (answers.label == consensus[answers.task]).astype(np.float64)
    n = np.bincount(answers.worker, minlength=answers.n_workers)
    agree = np.bincount(answers.worker, weights=hits, minlength=answers.n_workers)
    return np.divide(agree, n, out=np.zeros(answers.n_workers), where=n > 0)
