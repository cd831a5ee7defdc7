"""One entry point for categorical truth inference: :func:`aggregate` and :data:`DEFAULT_METHOD`.

Why Dawid-Skene with a diagonal prior is the default
----------------------------------------------------
Majority vote and Wawa ignore how workers err; one-coin DS and GLAD assume errors are spread
evenly over the wrong labels, which is false for ordered or confusable classes (and they can
lock onto a wrong labelling when most answers are biased).  Full Dawid-Skene models each worker's
confusions and is the most accurate method in broad comparisons (Zheng et al., PVLDB 2017), but
plain maximum likelihood overfits workers with few answers: a worker seen twice gets a confusion
matrix of zeros and ones.  A Dirichlet prior that adds one pseudo-answer on the diagonal of each
row ("a worker is a little better than chance until shown otherwise") fixes that, is negligible for
workers with many answers, and holds no per-dataset knob.  That is the default, and also what
``method="ds"`` means.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from assay.quality._base import Aggregator, choose
from assay.quality.answers import Answers
from assay.quality.dawid_skene import DawidSkene
from assay.quality.glad import GLAD
from assay.quality.mace import MACE
from assay.quality.majority_vote import MajorityVote
from assay.quality.one_coin import OneCoinDawidSkene
from assay.quality.wawa import Wawa

METHODS: dict[str, Callable[[], Aggregator]] = {
    "mv": MajorityVote,
    "wawa": Wawa,
    "ds": DawidSkene,
    "one-coin": OneCoinDawidSkene,
    "glad": GLAD,
    "mace": MACE,
}
DEFAULT_METHOD = "ds"

# Methods whose EM can hold gold answers fixed while it estimates the workers.
_CLAMPS = (DawidSkene, OneCoinDawidSkene, GLAD)


def make(method: str) -> Aggregator:
    """A fresh aggregator for a method name of :data:`METHODS`."""
    try:
        return METHODS[method]()
    except KeyError:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}") from None


def aggregate(
    answers: Answers, *, method: str = DEFAULT_METHOD, gold: Mapping[Any, Any] | None = None
) -> Aggregator:
    """Fit ``method`` on ``answers`` and return the fitted aggregator.

    ``gold`` (``{task: label}``) holds known answers: EM methods keep them fixed while estimating
    workers; for the others they overwrite the output.  Either way gold tasks come out with their
    gold label, so measure accuracy on gold *without* passing it here (as ``assay aggregate --gold``
    does).
    """
    model = make(method)
    if gold and isinstance(model, _CLAMPS):
        return model.fit(answers, gold=gold)
    model.fit(answers)
    if gold:
        tasks, labels = answers.encode_gold(gold)
        known = labels >= 0
        model.probas_[tasks[known]] = 0.0
        model.probas_[tasks[known], labels[known]] = 1.0
        model.labels_ = choose(model.probas_, answers)
    return model
