from __future__ import annotations

import numpy as np
import pytest

from assay.quality import Answers, compare_accuracy, proportion, scorecards, wilson_interval


def test_wilson_interval_matches_the_textbook_value() -> None:
    # 8 of 10: the Wilson 95% interval is (0.490, 0.943) (Newcombe 1998, table I style figures).
    low, high = wilson_interval(k=8, n=10)
    assert (low, high) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    assert wilson_interval(k=0, n=0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson_interval(k=3, n=2)


def test_wilson_interval_holds_the_observed_share_at_the_ends() -> None:
    # Rounding once left 12/12 with a high end of 1 - 2e-16, below the observed accuracy of 1.
    for n in range(1, 500):
        assert wilson_interval(k=n, n=n)[1] == 1.0
        assert wilson_interval(k=0, n=n)[0] == 0.0
        for k in (1, n // 2, n - 1):
            low, high = wilson_interval(k=k, n=n)
            assert 0.0 <= low <= k / n <= high <= 1.0


def test_workforce_accuracy_test() -> None:
    strong, weak = proportion(k=95, n=100), proportion(k=70, n=100)
    test = compare_accuracy(strong, weak)
    assert test.difference == pytest.approx(0.25) and test.p_value < 0.001
    assert compare_accuracy(strong, proportion(k=94, n=100)).p_value > 0.5


def test_scorecards_flag_spammers_and_price_accepted_answers() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 60)
    rows, durations = [], []
    for t, v in enumerate(truth):
        for w in ("good1", "good2", "good3"):
            rows.append((t, w, int(v)))
            durations.append(20.0)
        rows.append((t, "constant", 0))
        durations.append(20.0)
        rows.append((t, "fast", int(v)))
        durations.append(1.0)
    answers = Answers.from_rows(rows)
    teams = {
        "good1": "in-house",
        "good2": "in-house",
        "good3": "vendor",
        "constant": "vendor",
        "fast": "vendor",
    }
    gold = {t: int(v) for t, v in enumerate(truth[:20])}
    cards = scorecards(
        answers, gold=gold, duration_s=durations, workforce=teams, costs={"in-house": 120.0, "vendor": 90.0}
    )
    by_name = {c.worker: c for c in cards.workers}
    assert by_name["good1"].gold_accuracy.value == 1.0 and by_name["good1"].gold_accuracy.n == 20
    assert by_name["constant"].constant and not by_name["good1"].constant
    assert by_name["fast"].too_fast and not by_name["good2"].too_fast
    assert by_name["good1"].answers_per_hour == pytest.approx(180.0)
    assert by_name["good1"].confusion is not None and by_name["good1"].confusion.shape == (3, 3)
    vendor = next(w for w in cards.workforces if w.name == "vendor")
    in_house = next(w for w in cards.workforces if w.name == "in-house")
    assert in_house.cost_per_accepted == pytest.approx(1.0)  # 120 answers, all agree
    assert vendor.flagged_workers == 2
    assert vendor.accepted == 60 + 60 + int(np.sum(truth == 0))
    assert vendor.gold_accuracy.value < in_house.gold_accuracy.value == 1.0


def test_wilson_interval_covers_the_truth_about_95_percent_of_the_time() -> None:
    """The vendor report's promise, checked by simulation: over many draws of n gold answers at a
    known accuracy, the 95% interval holds that accuracy in about 95% of them."""
    rng = np.random.default_rng(7)
    for p, n in ((0.95, 400), (0.85, 550), (0.65, 60), (0.9, 30)):
        values, counts = np.unique(rng.binomial(n, p, size=4000), return_counts=True)
        covered = 0
        for k, count in zip(values, counts, strict=True):
            low, high = wilson_interval(k=int(k), n=n)
            covered += int(count) * (low <= p <= high)
        assert 0.93 <= covered / 4000 <= 0.975, (p, n, covered / 4000)
