from __future__ import annotations

import numpy as np
import pytest

from assay.quality import Answers, BradleyTerry, Comparisons, NoisyBradleyTerry, OrdinalAggregator


def test_bradley_terry_two_items_by_hand() -> None:
    # a beats b 3 times out of 4: the maximum-likelihood gap is log(3); the ridge shrinks it a hair.
    rows = [("a", "b", 1), ("a", "b", 1), ("a", "b", 1), ("a", "b", 0)]
    bt = BradleyTerry(penalty=1e-9).fit(Comparisons.from_rows(rows))
    gap = bt.scores_[0] - bt.scores_[1]
    assert gap == pytest.approx(np.log(3), abs=1e-6)
    assert bt.ranking()[0][0] == "a"
    assert all(low < score < high for _, score, low, high in bt.ranking())


def test_bradley_terry_recovers_an_order_and_ties_count_half() -> None:
    rng = np.random.default_rng(0)
    strength = {"m1": 1.5, "m2": 0.5, "m3": -0.5, "m4": -1.5}
    names = list(strength)
    rows = []
    for _ in range(600):
        a, b = rng.choice(names, 2, replace=False)
        p = 1 / (1 + np.exp(-(strength[a] - strength[b])))
        rows.append((a, b, float(rng.random() < p)))
    bt = BradleyTerry().fit(Comparisons.from_rows(rows))
    assert [item for item, *_ in bt.ranking()] == names
    tied = BradleyTerry().fit(Comparisons.from_rows([("x", "y", "tie")] * 4))
    assert tied.scores_[0] == pytest.approx(tied.scores_[1])


def test_rankings_expand_to_pairs() -> None:
    comparisons = Comparisons.from_rankings([[["b"], ["a", "c"]]], workers=["w1"])
    assert len(comparisons.outcome) == 3  # b>a, b>c, a=c
    assert sorted(comparisons.outcome.tolist()) == [0.5, 1.0, 1.0]


def test_noisy_bradley_terry_down_weights_a_random_annotator() -> None:
    rng = np.random.default_rng(1)
    names = ["m1", "m2", "m3"]
    rows = []
    for _ in range(300):
        i, j = sorted(rng.choice(3, 2, replace=False))
        rows.append((names[i], names[j], 1.0, "careful"))
        rows.append((names[i], names[j], float(rng.random() < 0.5), "random"))
    noisy = NoisyBradleyTerry().fit(Comparisons.from_rows(rows))
    careful, random = (list(noisy.comparisons_.workers).index(w) for w in ("careful", "random"))
    assert noisy.skills_[careful] > noisy.skills_[random]
    assert [item for item, *_ in noisy.ranking()] == names


def test_ordinal_aggregator_removes_a_harsh_raters_bias() -> None:
    rng = np.random.default_rng(2)
    truth = rng.integers(2, 6, 50)
    rows = []
    for t, v in enumerate(truth):
        rows.append((t, "fair", int(v)))
        rows.append((t, "harsh", int(v) - 1))  # always one point lower
        rows.append((t, "fair2", int(v)))
    model = OrdinalAggregator().fit(Answers.from_rows(rows))
    harsh = model.answers_.workers.tolist().index("harsh")
    assert model.biases_[harsh] == pytest.approx(-2 / 3, abs=0.05)  # relative to the centred mean
    assert model.label_map() == {t: int(v) for t, v in enumerate(truth)}
    with pytest.raises(ValueError, match="ratings must be numbers"):
        OrdinalAggregator().fit(Answers.from_rows([(1, "a", "good"), (1, "b", "bad")]))
