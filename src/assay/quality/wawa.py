"""Wawa (worker agreement with aggregate): majority vote re-weighted by each worker's agreement."""

from __future__ import annotations

from typing import Self

from assay.quality._base import Aggregator, normalise_rows, vote_counts
from assay.quality._types import FloatArray
from assay.quality.answers import Answers
from assay.quality.majority_vote import MajorityVote, agreement_with


class Wawa(Aggregator):
    """Majority vote, then a vote weighted by each worker's agreement with it (one pass).

    ``skills_[w]`` is worker ``w``'s agreement with the majority vote.
    """

    skills_: FloatArray

    def fit(self, answers: Answers) -> Self:
        mv = MajorityVote().fit(answers)
        self.skills_ = agreement_with(answers, mv.labels_)
        weighted = vote_counts(answers, weights=self.skills_[answers.worker])
        self._finish(answers, normalise_rows(weighted))
        self.loss_history_ = []
        return self
