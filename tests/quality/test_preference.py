from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import krippendorff
import numpy as np
import pytest

from assay.quality import Answers, preference_agreement
from assay.quality.preference import holm

NAN = np.nan


def _answers(matrix: Sequence[Sequence[float]]) -> Answers:
    """Rows are workers, columns items; NaN is a missing answer."""
    return Answers.from_rows(
        (item, f"w{w}", int(v)) for w, row in enumerate(matrix) for item, v in enumerate(row) if v == v
    )


def test_same_side_different_strength_agrees_on_direction_not_on_strength() -> None:
    # Both workers always pick the same side, but one is emphatic and the other mild.
    answers = _answers([[3, -3, 3, -3], [1, -1, 1, -1]])
    result = preference_agreement(answers, scale=3, n_boot=0)
    assert result.direction.value == pytest.approx(1.0)
    # Interval alpha by hand: 8 values, observed disagreement 4 pairs x 2 orders x (3-1)^2 / (2-1)
    # = 32 over n=8; expected: sum over value pairs of (a-b)^2 = 2*(16*4 + 4*4)... checked below
    # against the reference implementation rather than restated.
    theirs = krippendorff.alpha(
        reliability_data=[[3, -3, 3, -3], [1, -1, 1, -1]], level_of_measurement="interval"
    )
    assert result.strength.value == pytest.approx(theirs, abs=1e-12)
    assert 0 < result.strength.value < 1
    assert result.position is None and result.position_by_worker == {}


def test_a_tie_against_a_weak_preference_is_a_full_direction_disagreement_but_a_small_strength_one() -> None:
    matrix = [[0, 3, -3, 2, -2], [1, 3, -3, 2, -2]]
    result = preference_agreement(_answers(matrix), scale=3, n_boot=0)
    signs = np.sign(matrix).astype(float)
    direction = krippendorff.alpha(reliability_data=signs, level_of_measurement="nominal")
    strength = krippendorff.alpha(reliability_data=np.asarray(matrix, float), level_of_measurement="interval")
    assert result.direction.value == pytest.approx(direction, abs=1e-12)
    assert result.strength.value == pytest.approx(strength, abs=1e-12)
    assert result.strength.value > result.direction.value  # 0 vs 1 is close on the scale


def test_missing_answers_and_ordinal_strength_match_the_reference() -> None:
    matrix = [[2, -1, 0, NAN, 3, -2], [1, -1, 1, 2, NAN, -3], [2, NAN, 0, 2, 3, -3]]
    result = preference_agreement(_answers(matrix), scale=3, strength_level="ordinal", n_boot=200, seed=1)
    # The reference package infers ordinal ranks from the values it sees; ours uses the full scale,
    # which only matters for unseen values (ordinal distances skip empty categories either way).
    theirs = krippendorff.alpha(
        reliability_data=np.asarray(matrix, float),
        level_of_measurement="ordinal",
        value_domain=list(range(-3, 4)),
    )
    assert result.strength.value == pytest.approx(theirs, abs=1e-12)
    assert result.strength.low <= result.strength.value <= result.strength.high
    assert result.direction.n_items == result.strength.n_items == 6


def test_position_bias_by_hand() -> None:
    # Worker a: -2 shown as stored (left preferred), +1 flipped (responses[1] on the left: left
    # preferred), 0 a tie (left out), +3 as stored (right preferred): 2 left of 3.
    rows = [(1, "a", -2), (2, "a", 1), (3, "a", 0), (4, "a", 3), (1, "b", -1), (2, "b", -2)]
    flipped = [False, True, False, False, True, True]
    result = preference_agreement(Answers.from_rows(rows), scale=3, display_flipped=flipped, n_boot=0)
    a, b = result.position_by_worker["a"], result.position_by_worker["b"]
    assert (a.left.k, a.left.n, a.ties) == (2, 3, 1)
    assert a.p_value == pytest.approx(1.0)  # P(X <= 1 or X >= 2 | n=3) = 1
    assert (b.left.k, b.left.n) == (0, 2)  # flipped, a negative value prefers the right
    assert b.p_value == pytest.approx(0.5)  # 2 * 0.5^2
    assert b.p_adjusted == pytest.approx(min(1.0, 2 * 0.5))
    overall = result.position
    assert overall is not None and (overall.left.k, overall.left.n, overall.ties) == (2, 5, 1)
    assert overall.left.low < 0.4 < overall.left.high


def test_the_flip_column_can_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "prefs.csv"
    path.write_text("task,worker,label,flipped\n1,a,-1,true\n1,b,-1,false\n2,a,2,0\n2,b,1,1\n")
    answers = Answers.read(path, extra=["flipped"])
    result = preference_agreement(answers, scale=3, display_flipped="flipped", n_boot=0)
    assert result.position is not None and (result.position.left.k, result.position.left.n) == (2, 4)
    with pytest.raises(ValueError, match="not a column"):
        preference_agreement(answers, scale=3, display_flipped="shown", n_boot=0)


def test_bad_input_is_refused_with_a_reason() -> None:
    answers = Answers.from_rows([(1, "a", -1), (1, "b", 4)])
    with pytest.raises(ValueError, match=r"answer 4 is not a whole number in -3\.\.3"):
        preference_agreement(answers, scale=3)
    with pytest.raises(ValueError, match="scale=0"):
        preference_agreement(answers, scale=0)
    ok = Answers.from_rows([(1, "a", -1), (1, "b", 1)])
    with pytest.raises(ValueError, match="one flag per answer"):
        preference_agreement(ok, scale=3, display_flipped=[True])
    with pytest.raises(ValueError, match="answer 2 has 'maybe'"):
        preference_agreement(ok, scale=3, display_flipped=["true", "maybe"])
    with pytest.raises(ValueError, match="whole number"):
        preference_agreement(Answers.from_rows([(1, "a", "left"), (1, "b", 1)]), scale=3)


def test_holm_adjustment() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def _simulate(
    *, seed: int, left_pull: np.ndarray, n_items: int = 150, per_item: int = 3
) -> tuple[Answers, np.ndarray]:
    """Pairs with a true quality gap; each worker shows them in a random order and adds
    ``left_pull[w]`` (on the latent scale) towards whatever is displayed on the left."""
    rng = np.random.default_rng(seed)
    gap = rng.normal(0, 1.5, n_items)  # > 0: responses[1] is better
    rows, flags = [], []
    for item in range(n_items):
        for w in rng.choice(len(left_pull), per_item, replace=False):
            flipped = bool(rng.random() < 0.5)
            # Left is responses[0] unless flipped; pulling to the left lowers the stored value.
            latent = gap[item] + rng.normal(0, 1) - (left_pull[w] if not flipped else -left_pull[w])
            rows.append((item, f"w{w}", int(np.clip(np.round(latent), -3, 3))))
            flags.append(flipped)
    return Answers.from_rows(rows), np.asarray(flags)


def test_simulated_biased_pool_is_detected_and_unbiased_pool_is_not() -> None:
    n_workers = 8
    unbiased, flags = _simulate(seed=11, left_pull=np.zeros(n_workers))
    fair = preference_agreement(unbiased, scale=3, display_flipped=flags, n_boot=100, seed=2)
    assert fair.position is not None and fair.position.p_value > 0.05
    assert fair.position.left.low < 0.5 < fair.position.left.high
    assert all(b.p_adjusted > 0.05 for b in fair.position_by_worker.values())
    assert fair.direction.value > 0.3 and fair.strength.value > 0.5  # a real, shared signal

    pull = np.zeros(n_workers)
    pull[[0, 1]] = 1.5  # two workers lean hard towards the left-hand response
    biased, flags = _simulate(seed=11, left_pull=pull)
    skewed = preference_agreement(biased, scale=3, display_flipped=flags, n_boot=100, seed=2)
    assert skewed.position is not None and skewed.position.p_value < 0.01
    assert skewed.position.left.low > 0.5
    flagged = {w for w, b in skewed.position_by_worker.items() if b.p_adjusted < 0.05}
    assert flagged == {"w0", "w1"}
    # Bias is noise to the content: agreement drops against the fair pool.
    assert skewed.strength.value < fair.strength.value
