"""The pure parts of the quality gates: the adaptive-overlap posterior, pausing and the text heuristic."""

from __future__ import annotations

import math

import pytest

from assay.workflows.adaptive import posterior
from assay.workflows.flags import machine_text_signals
from assay.workflows.gates import _pause_reason


def test_posterior_matches_the_one_coin_model_by_hand() -> None:
    # Two agreeing annotators right 75% of the time over 3 values: odds 6*6 : 1 : 1.
    assert posterior([("a", 0.75), ("a", 0.75)], 3) == pytest.approx(36 / 38)
    # Disagreement between equals is a coin toss between their two values.
    assert posterior([("a", 0.9), ("b", 0.9)], 3) == pytest.approx(
        (0.9 * 0.05) / (0.9 * 0.05 * 2 + 0.05 * 0.05)
    )
    # A stronger annotator outweighs a weaker one.
    assert posterior([("a", 0.95), ("b", 0.6)], 3) > 0.5
    assert posterior([], 3) == 0.0
    assert math.isclose(posterior([("a", 1.0)], 2), 1 - 1e-3, rel_tol=1e-9)


def test_pause_needs_enough_gold_and_a_sure_shortfall() -> None:
    assert _pause_reason([False] * 4, 0.8, 5) is None  # too few gold answers yet
    assert _pause_reason([True, True, True, True, False], 0.8, 5) is None  # a single miss
    reason = _pause_reason([False] * 5, 0.8, 5)
    assert reason is not None and "0/5" in reason and "80%" in reason
    assert _pause_reason([True] * 13 + [False] * 7, 0.8, 10) is None  # 65% of 20: interval reaches 80%
    assert _pause_reason([True] * 26 + [False] * 14, 0.8, 10) is not None  # 65% of 40: it no longer does


@pytest.mark.parametrize(
    "text",
    [
        "As an AI language model, I would classify this message as positive because it thanks the team warmly.",
        "## Assessment\n\n**Tone**: friendly and upbeat.\n1. thanks the team\n2. praises the fast help\n3. asks for more",
        "Here's a breakdown:\n- thanks the team\n- praises the product\n- asks for a follow-up on the order\n",
    ],
)
def test_machine_text_is_recognised(text: str) -> None:
    signals = machine_text_signals(text)
    assert "stock assistant phrase" in signals or len(signals) >= 2


@pytest.mark.parametrize(
    "text",
    [
        "customer is happy with the refund, says thanks twice. a bit sarcastic at the end maybe?",
        "neutral - just asks where the parcel is, no emotion either way. order number in the text.",
        "ok",
    ],
)
def test_human_notes_are_not_flagged(text: str) -> None:
    signals = machine_text_signals(text)
    assert not ("stock assistant phrase" in signals or len(signals) >= 2)
