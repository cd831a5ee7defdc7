"""Consensus labels: one rule per question kind, deterministic whatever the answer order."""

from __future__ import annotations

import random
from typing import Any

import pytest

from assay.formats import consensus


def test_choice_majority_and_deterministic_tie() -> None:
    assert consensus("choice", ["pos", "neg", "pos", None]) == {"value": "pos", "confidence": 2 / 3, "n": 3}
    assert consensus("choice", ["neg", "pos"])["value"] == "neg"  # type: ignore[index]
    assert consensus("choice", ["pos", "neg"])["value"] == "neg"  # type: ignore[index]


def test_multi_choice_majority_options() -> None:
    label = consensus("multi_choice", [["a", "b"], ["a"], ["a", "c"]])
    # a: 3/3 agree; b: 2/3 agree it is absent; c: same.
    assert label == {"value": ["a"], "confidence": pytest.approx((1 + 2 / 3 + 2 / 3) / 3), "n": 3}
    assert consensus("multi_choice", [[], []]) == {"value": [], "confidence": 1.0, "n": 2}


def test_rating_median() -> None:
    assert consensus("rating", [1, 7, 5, 4]) == {"value": 4.5, "confidence": 0.5, "n": 4}
    assert consensus("rating", [3, 3, 4]) == {"value": 3, "confidence": 1.0, "n": 3}
    assert consensus("rating", [1, 7]) == {"value": 4, "confidence": 0.0, "n": 2}  # not 1: the median


def test_preference_median_and_sign_agreement() -> None:
    assert consensus("preference", [-3, -1, 2]) == {"value": -1, "confidence": 2 / 3, "n": 3}
    assert consensus("preference", [0, 0, 2]) == {"value": 0, "confidence": 2 / 3, "n": 3}
    assert consensus("preference", [-3, -2, -1, 2]) == {"value": -1.5, "confidence": 0.75, "n": 4}


@pytest.mark.parametrize(
    "values",
    [[-2, 2], [2, -2], [-3, -2, 0, 2], [-1, 0, 1], [-2, 0], [3, 3, -1, -1]],
)
def test_a_split_decision_is_no_preference(values: list[int]) -> None:
    # One annotator -2 and another +2 used to give -2 (the lower middle value) at confidence 0.5:
    # a pair of strength 2 for a side only half the answers took.  No sign has a strict majority.
    label = consensus("preference", values)
    assert label is not None
    assert label["value"] == 0
    assert label["confidence"] <= 0.5
    assert label["n"] == len(values)


def test_ranking_mean_rank_with_ties() -> None:
    label = consensus("ranking", [[["b"], ["a", "c"]], [["b"], ["c"], ["a"]], [["b"], ["a"], ["c"]]])
    assert label is not None
    # b ranks 1 everywhere; a and c both average 2.5: tied.
    assert label["value"] == [["b"], ["a", "c"]]
    # pairs (a,b) 3/3, (b,c) 3/3, (a,c) tie agreed by 1/3.
    assert label["confidence"] == pytest.approx((1 + 1 + 1 / 3) / 3)
    assert label["n"] == 3


def test_spans_majority() -> None:
    s1 = {"start": 0, "end": 4, "label": "PER"}
    s2 = {"start": 10, "end": 12, "label": "LOC"}
    label = consensus("spans", [[s1, s2], [s1], [dict(s1)]])
    assert label == {"value": [s1], "confidence": pytest.approx((1 + 2 / 3) / 2), "n": 3}


def test_text_none_and_unknown_kind() -> None:
    assert consensus("text", ["a", "b"]) is None
    assert consensus("rating", [None, None]) is None
    with pytest.raises(ValueError, match="unknown question kind 'essay'"):
        consensus("essay", ["x"])


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("choice", ["a", "b", "b", "a", "c"]),
        ("multi_choice", [["a"], ["b"], ["a", "b"], []]),
        ("rating", [1, 2, 3, 4, 5, 5]),
        ("preference", [-2, 1, 0, 3]),
        ("ranking", [[["a"], ["b"]], [["b"], ["a"]], [["a", "b"]], [["c"], ["a"]]]),
        ("spans", [[{"start": 0, "end": 1, "label": "X"}], [], [{"start": 0, "end": 1, "label": "X"}]]),
    ],
)
def test_order_does_not_matter(kind: str, values: list[Any]) -> None:
    rng = random.Random(7)
    expected = consensus(kind, values)
    for _ in range(10):
        shuffled = list(values)
        rng.shuffle(shuffled)
        assert consensus(kind, shuffled) == expected
