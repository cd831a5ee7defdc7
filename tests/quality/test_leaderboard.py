"""The model leaderboard: simulated battles among models of known strength (with ties), checked
against an independent maximum-likelihood fit (tests/web/test_api_leaderboard.py: the API)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy.optimize import minimize

from assay.quality.leaderboard import ELO_SCALE, leaderboard

TRUE = {f"m{i}": 1000 + 60 * (i - 4.5) for i in range(10)}  # 10 models, 60 Elo apart


def _battles(n: int, seed: int, ties: float = 0.2) -> list[tuple[str, str, float]]:
    """Battles: a tie with probability ``ties``, else a Bradley-Terry draw."""
    rng = np.random.default_rng(seed)
    names = list(TRUE)
    out = []
    for _ in range(n):
        a, b = rng.choice(len(names), 2, replace=False)
        if rng.random() < ties:
            out.append((names[a], names[b], 0.5))
            continue
        p = 1 / (1 + 10 ** ((TRUE[names[b]] - TRUE[names[a]]) / 400))
        out.append((names[a], names[b], 1.0 if rng.random() < p else 0.0))
    return out


def _mle(battles: list[tuple[str, str, float]]) -> dict[str, float]:
    """The same likelihood maximised by a general-purpose optimiser (ties as half a win each way)."""
    names = sorted({m for a, b, _ in battles for m in (a, b)})
    idx = {m: i for i, m in enumerate(names)}
    left = np.array([idx[a] for a, _, _ in battles])
    right = np.array([idx[b] for _, b, _ in battles])
    y = np.array([o for _, _, o in battles])

    def loss(s: np.ndarray[Any, Any]) -> float:
        d = s[left] - s[right]
        return float(np.sum(y * np.logaddexp(0, -d) + (1 - y) * np.logaddexp(0, d)))

    s = minimize(loss, np.zeros(len(names)), method="BFGS", options={"gtol": 1e-10}).x
    return {m: 1000 + ELO_SCALE * (s[i] - s.mean()) for m, i in idx.items()}


def test_ratings_match_an_independent_fit_and_recover_the_order() -> None:
    battles = _battles(20_000, seed=1)
    board = leaderboard(battles, n_boot=50, seed=0)
    reference = _mle(battles)
    for row in board:
        assert abs(row["rating"] - reference[row["model"]]) < 0.5, row
        assert row["low"] <= row["rating"] <= row["high"]
    assert [r["model"] for r in board] == sorted(TRUE, key=lambda m: -TRUE[m])
    assert sum(r["battles"] for r in board) == 2 * len(battles)
    assert math.isclose(np.mean([r["rating"] for r in board]), 1000.0)


def test_intervals_cover_the_true_strengths_at_about_the_nominal_rate() -> None:
    # Without ties the generating strengths are the model's own parameters (random ties pull every
    # rating towards the mean, which no Bradley-Terry fit undoes).
    covered = total = 0
    for seed in range(8):
        for row in leaderboard(_battles(3_000, seed=100 + seed, ties=0.0), n_boot=100, seed=seed):
            covered += row["low"] <= TRUE[row["model"]] <= row["high"]
            total += 1
    assert covered / total >= 0.85, (covered, total)


def test_ranks_are_shared_where_intervals_overlap() -> None:
    battles = (
        [("a", "b", 1.0)] * 30 + [("b", "a", 1.0)] * 28 + [("a", "c", 1.0)] * 50 + [("b", "c", 1.0)] * 50
    )
    board = {r["model"]: r for r in leaderboard(battles, n_boot=100, seed=0)}
    assert board["a"]["rank"] == board["b"]["rank"] == 1 and board["c"]["rank"] == 3
    assert leaderboard([], n_boot=10) == []


@pytest.mark.parametrize("value", [0, -2])
def test_ties_and_same_model_pairs(value: int) -> None:
    battles = [("a", "b", 0.5 if value == 0 else 1.0)] * 10 + [("a", "a", 1.0)]
    board = leaderboard(battles, n_boot=20)
    assert sum(r["battles"] for r in board) == 20
    if value == 0:
        assert abs(board[0]["rating"] - board[1]["rating"]) < 1e-6 and board[0]["ties"] == 10
