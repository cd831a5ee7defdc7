"""Agreement on ``preference`` answers, and position bias when the display order is recorded.

A preference answer is an integer on a symmetric scale ``-scale..scale``: negative prefers
``responses[0]`` as stored, positive ``responses[1]``, and 0 is a tie; the magnitude is the
strength.  Two questions are asked of such answers, so two coefficients come back:

* direction: do workers pick the same side (or both call it a tie)?  Krippendorff's alpha, nominal,
  on the three categories left / tie / right.  A tie against a weak preference counts as a full
  disagreement here;
* strength: do they agree on the signed value?  Krippendorff's alpha, interval (or ordinal), on
  ``-scale..scale``, where "+1 vs 0" is a small disagreement and "+3 vs -3" a large one.

Position bias: when the responses may be shown in reverse order (``display_flipped[i]`` true means
answer ``i`` saw ``responses[1]`` on the left), an unbiased worker prefers the left-hand response
half the time, whatever the content, because the flip is random.  The share of (non-tie) answers
that prefer the response shown on the left is reported with a Wilson interval and an exact
two-sided binomial test against one half, overall and per worker (with Holm-adjusted p-values,
since a pool of workers means many tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from assay.quality._types import BoolArray, IntArray
from assay.quality.agreement import Agreement, krippendorff_alpha
from assay.quality.answers import Answers
from assay.quality.gold import Proportion, proportion

_TRUE = frozenset({"true", "1", "yes", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "f", "n"})


@dataclass(frozen=True)
class PositionBias:
    """``left``: share of non-tie answers preferring the response shown on the left (Wilson 95%
    interval); ``p_value``: exact two-sided binomial test against 0.5; ``ties``: answers left out."""

    left: Proportion
    p_value: float
    ties: int
    p_adjusted: float = float("nan")

    def as_dict(self) -> dict[str, float | int]:
        return {
            "left": self.left.value,
            "low": self.left.low,
            "high": self.left.high,
            "n": self.left.n,
            "ties": self.ties,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
        }


@dataclass(frozen=True)
class PreferenceAgreement:
    """Direction and strength agreement; position bias when the display order was given."""

    direction: Agreement
    strength: Agreement
    position: PositionBias | None = None
    #: ``{worker id: PositionBias}``; ``p_adjusted`` holds Holm's correction across workers.
    position_by_worker: dict[Any, PositionBias] = field(default_factory=dict)


def preference_agreement(
    answers: Answers,
    *,
    scale: int,
    display_flipped: Sequence[Any] | np.ndarray[Any, Any] | str | None = None,
    strength_level: Literal["interval", "ordinal"] = "interval",
    n_boot: int = 1000,
    seed: int = 0,
) -> PreferenceAgreement:
    """Agreement of preference answers on ``-scale..scale`` and, optionally, position bias.

    ``display_flipped`` is one boolean per answer (aligned with the answers' rows), or the name of
    an ``extra`` column of ``answers`` holding true/false.  Both coefficients use the same item
    resamples (``n_boot``, ``seed``) for their 95% bootstrap intervals.
    """
    values = signed_values(answers, scale=scale)
    flipped = None if display_flipped is None else _flags(answers, display_flipped)  # refuse early
    direction_codes = np.sign(values).astype(np.intp) + 1  # 0 left, 1 tie, 2 right
    direction = krippendorff_alpha(
        _relabel(answers, direction_codes, np.array(["left", "tie", "right"], dtype=object)),
        level="nominal",
        n_boot=n_boot,
        seed=seed,
    )
    strength_book = np.arange(-scale, scale + 1)
    strength = krippendorff_alpha(
        _relabel(answers, values + scale, strength_book), level=strength_level, n_boot=n_boot, seed=seed
    )
    if flipped is None:
        return PreferenceAgreement(direction=direction, strength=strength)
    overall, by_worker = position_bias(answers, values=values, flipped=flipped)
    return PreferenceAgreement(
        direction=direction, strength=strength, position=overall, position_by_worker=by_worker
    )


def signed_values(answers: Answers, *, scale: int) -> IntArray:
    """Each answer's signed preference as an int; refuses values off the ``-scale..scale`` grid."""
    if isinstance(scale, bool) or not isinstance(scale, int | np.integer) or scale < 1:
        raise ValueError(
            f"scale={scale!r}: give the largest strength, a whole number >= 1 (e.g. 3 for -3..3)"
        )
    book = np.empty(answers.n_labels, dtype=np.intp)
    for code, label in enumerate(answers.labels.tolist()):
        try:
            number = float(label)
        except (TypeError, ValueError):
            number = float("nan")
        if not np.isfinite(number) or number != round(number) or abs(number) > scale:
            raise ValueError(
                f"preference answer {label!r} is not a whole number in -{scale}..{scale}; "
                "negative prefers the first response, 0 is a tie, positive the second"
            )
        book[code] = int(number)
    out: IntArray = book[answers.label]
    return out


def position_bias(
    answers: Answers, *, values: IntArray, flipped: BoolArray
) -> tuple[PositionBias, dict[Any, PositionBias]]:
    """Overall and per-worker share of non-tie answers preferring the left-hand response."""
    decided = values != 0
    # Unflipped, responses[0] is on the left, so a negative value prefers the left; flipped, the reverse.
    left = ((values < 0) != flipped) & decided
    overall = _bias(int(left.sum()), int(decided.sum()), int((~decided).sum()))
    n_w = answers.n_workers
    k_w = np.bincount(answers.worker, weights=left, minlength=n_w).astype(np.int64)
    n_w_dec = np.bincount(answers.worker, weights=decided, minlength=n_w).astype(np.int64)
    n_w_all = np.bincount(answers.worker, minlength=n_w)
    raw = [_bias(int(k), int(n), int(a - n)) for k, n, a in zip(k_w, n_w_dec, n_w_all, strict=True)]
    adjusted = holm([b.p_value for b in raw])
    by_worker = {
        worker: PositionBias(left=b.left, p_value=b.p_value, ties=b.ties, p_adjusted=p)
        for worker, b, p in zip(answers.workers.tolist(), raw, adjusted, strict=True)
    }
    return overall, by_worker


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: controls the chance of any false alarm across the tests."""
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    m = len(p)
    stepped = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out = np.empty(m)
    out[order] = stepped
    return [float(v) for v in out]


def _bias(k: int, n: int, ties: int) -> PositionBias:
    if n == 0:
        return PositionBias(left=proportion(k=0, n=0), p_value=1.0, ties=ties, p_adjusted=1.0)
    from scipy.stats import binomtest  # imported here: keeps `import assay.quality` light

    p_value = float(binomtest(k, n, 0.5).pvalue)
    return PositionBias(left=proportion(k=k, n=n), p_value=p_value, ties=ties, p_adjusted=p_value)


def _relabel(answers: Answers, codes: np.ndarray[Any, Any], book: np.ndarray[Any, Any]) -> Answers:
    return Answers(
        task=answers.task,
        worker=answers.worker,
        label=np.asarray(codes, dtype=np.intp),
        tasks=answers.tasks,
        workers=answers.workers,
        labels=book,
    )


def _flags(answers: Answers, given: Sequence[Any] | np.ndarray[Any, Any] | str) -> BoolArray:
    """``display_flipped`` as one bool per answer, from a sequence or an ``extra`` column name."""
    source = "display_flipped"
    if isinstance(given, str):
        if given not in answers.extra:
            raise ValueError(
                f"display_flipped={given!r} is not a column of the answers (extra columns: "
                f"{sorted(answers.extra)}); read it with extra=[{given!r}]"
            )
        source, given = f"column '{given}'", answers.extra[given]
    raw = np.asarray(given)
    if raw.ndim != 1 or len(raw) != len(answers):
        raise ValueError(f"{source}: give one flag per answer ({len(answers)}), got shape {raw.shape}")
    if raw.dtype == np.bool_:
        out: BoolArray = raw
        return out
    flags = np.empty(len(raw), dtype=np.bool_)
    for i, v in enumerate(raw.tolist()):
        text = str(v).strip().lower()
        if isinstance(v, bool) or text in _TRUE or text in _FALSE:
            flags[i] = v if isinstance(v, bool) else text in _TRUE
        else:
            raise ValueError(f"{source}: answer {i + 1} has {v!r}; use true/false (or 1/0)")
    return flags
