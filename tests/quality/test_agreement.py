from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.quality import Answers, cohen_kappa, fleiss_kappa, krippendorff_alpha, percent_agreement

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units, gaps.
RELIABILITY = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def _from_matrix(matrix: list[list[int | None]]) -> Answers:
    return Answers.from_rows(
        (unit, f"obs{obs}", value)
        for obs, row in enumerate(matrix)
        for unit, value in enumerate(row)
        if value is not None
    )


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_krippendorffs_own_example(level: str, published: float) -> None:
    result = krippendorff_alpha(_from_matrix(RELIABILITY), level=level, n_boot=200)  # type: ignore[arg-type]
    assert result.value == pytest.approx(published, abs=5e-4)
    assert result.low <= result.value <= result.high
    assert result.n_items == 11  # unit 12 has a single value: not pairable


def test_fleiss_wikipedia_example() -> None:
    # 10 subjects, 14 raters, 5 categories; kappa = 0.210 (Fleiss 1971 as worked on Wikipedia).
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    rows = []
    for item, counts in enumerate(table):
        labels = [lab for lab, n in enumerate(counts) for _ in range(n)]
        rows += [(item, rater, lab) for rater, lab in enumerate(labels)]
    assert fleiss_kappa(Answers.from_rows(rows), n_boot=50).value == pytest.approx(0.210, abs=5e-4)


def test_cohen_and_percent_wikipedia_example() -> None:
    # 50 proposals, two readers: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o 0.7, kappa 0.4.
    rows = []
    for a, b, n in [("yes", "yes", 20), ("yes", "no", 5), ("no", "yes", 10), ("no", "no", 15)]:
        for _ in range(n):
            rows += [(len(rows) // 2, "A", a), (len(rows) // 2, "B", b)]
    answers = Answers.from_rows(rows)
    kappa = cohen_kappa(answers, n_boot=300, seed=1)
    assert kappa.value == pytest.approx(0.4)
    assert kappa.low < 0.4 < kappa.high
    assert percent_agreement(answers, n_boot=0).value == pytest.approx(0.7)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), level=st.sampled_from(["nominal", "ordinal", "interval"]))
def test_alpha_matches_the_krippendorff_package(seed: int, level: str) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, 25)
    data = np.where(rng.random((4, 25)) < 0.7, truth, rng.integers(1, 6, (4, 25))).astype(float)
    data[rng.random((4, 25)) < 0.2] = np.nan  # missing answers
    data[:2, 0] = 1  # at least one pairable unit
    matrix = [[None if np.isnan(v) else int(v) for v in row] for row in data]
    ours = krippendorff_alpha(_from_matrix(matrix), level=level, n_boot=0).value  # type: ignore[arg-type]
    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert ours == pytest.approx(theirs, abs=1e-9) or (np.isnan(ours) and np.isnan(theirs))


def test_perfect_agreement_is_one_and_single_answers_are_refused() -> None:
    answers = Answers.from_rows([(t, w, t % 3) for t in range(12) for w in "abc"])
    for measure in (percent_agreement, fleiss_kappa, cohen_kappa):
        assert measure(answers, n_boot=20).value == pytest.approx(1.0)
    assert krippendorff_alpha(answers, level="interval", n_boot=20).value == pytest.approx(1.0)
    with pytest.raises(ValueError, match="two or more answers"):
        krippendorff_alpha(Answers.from_rows([(1, "a", 1), (2, "a", 2)]))


def test_bootstrap_is_seeded() -> None:
    answers = _from_matrix(RELIABILITY)
    first = krippendorff_alpha(answers, n_boot=100, seed=3)
    assert first == krippendorff_alpha(answers, n_boot=100, seed=3)
