"""Project settings: defaults, bounds and typo detection."""

# Tables of exact error messages read best one case per line.

from __future__ import annotations

from typing import Any

import pytest

from assay.domain.schema import ProjectSettings, parse_settings
from assay.errors import Invalid


def test_defaults() -> None:
    settings = parse_settings({})
    assert settings == parse_settings(None) == ProjectSettings()
    assert settings.model_dump(mode="json") == {
        "overlap": 1,
        "gold_rate": 0.0,
        "gold_overlap": None,
        "lease_seconds": 900,
        "workforces": [],
        "batches": {},
        "required_skills": [],
        "instructions": "",
        "max_leases": 2,
        "target_confidence": None,
        "priority": 0,
        "qualification": None,
        "pause_below": None,
        "pause_min_gold": 10,
        "method": "ds",
    }


def test_design_example_and_round_trip() -> None:
    settings = parse_settings({"overlap": 3, "gold_rate": 0.1, "lease_seconds": 900})
    assert (settings.overlap, settings.gold_rate, settings.lease_seconds) == (3, 0.1, 900)
    full = parse_settings(
        {
            "overlap": 5,
            "gold_rate": 1,
            "lease_seconds": 30,
            "workforces": ["in_house", "Vendor A"],
            "required_skills": ["math-phd"],
            "instructions": "## Read me",
            "max_leases": 1,
            "target_confidence": 0.95,
            "priority": -3,
        }
    )
    assert full.gold_rate == 1.0 and full.workforces == ["in_house", "Vendor A"]
    assert parse_settings(full.model_dump(mode="json")) == full


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ([], ("", "settings are an object, got list")),
        ({"overlap": 0}, ("overlap", "0 is not allowed: must be at least 1")),
        ({"overlap": 101}, ("overlap", "101 is not allowed: must be at most 100")),
        ({"overlap": "3"}, ("overlap", "Input should be a valid integer, got str '3'")),
        ({"overlap": True}, ("overlap", "Input should be a valid integer, got True (in YAML, put yes/no/on/off in quotes)")),
        ({"gold_rate": 1.5}, ("gold_rate", "1.5 is not allowed: must be at most 1.0")),
        ({"gold_rate": -0.1}, ("gold_rate", "-0.1 is not allowed: must be at least 0.0")),
        ({"lease_seconds": 29}, ("lease_seconds", "29 is not allowed: must be at least 30")),
        ({"lease_seconds": 86401}, ("lease_seconds", "86401 is not allowed: must be at most 86400")),
        ({"workforces": "Vendor A"}, ("workforces", "Input should be a valid list, got str 'Vendor A'")),
        ({"workforces": ["a", "a"]}, ("workforces", "'a' is listed twice; each entry must be unique")),
        ({"required_skills": [""]}, ("required_skills[0]", "must not be empty")),
        ({"target_confidence": 0.5}, ("target_confidence", "0.5 is not allowed: must be greater than 0.5")),
        ({"target_confidence": 1}, ("target_confidence", "1 is not allowed: must be less than 1.0")),
        ({"instructions": None}, ("instructions", "Input should be a valid string, got NoneType None")),
        ({"overlapp": 3}, ("overlapp", "unknown field 'overlapp'; did you mean 'overlap'?")),
        ({"pause_below": 0}, ("pause_below", "0 is not allowed: must be greater than 0.0")),
        ({"pause_below": 1.5}, ("pause_below", "1.5 is not allowed: must be at most 1.0")),
        ({"pause_min_gold": 0}, ("pause_min_gold", "0 is not allowed: must be at least 1")),
        ({"qualification": {"threshold": 0.8}}, ("qualification.grants_skill", "is required")),
        ({"qualification": {"grants_skill": "x", "threshold": 2}}, ("qualification.threshold", "2 is not allowed: must be at most 1.0")),
        ({"qualification": {"grants_skill": "x", "threshold": 0.8, "min_answer": 5}}, ("qualification.min_answer", "unknown field 'min_answer'; did you mean 'min_answers'?")),
    ],
)  # fmt: skip
def test_problems(obj: Any, expected: tuple[str, str]) -> None:
    with pytest.raises(Invalid) as info:
        parse_settings(obj)
    assert [(e["loc"], e["msg"]) for e in info.value.errors] == [expected]
    where = f"{expected[0]}: " if expected[0] else ""
    assert info.value.message == f"invalid project settings: {where}{expected[1]}"


def test_quality_gates_round_trip() -> None:
    settings = parse_settings(
        {
            "qualification": {"grants_skill": "math-phd", "threshold": 0.9, "min_answers": 20},
            "pause_below": 0.75,
            "pause_min_gold": 12,
            "target_confidence": 0.97,
            "overlap": 5,
        }
    )
    assert settings.qualification is not None
    assert (settings.qualification.grants_skill, settings.qualification.threshold) == ("math-phd", 0.9)
    assert settings.qualification.min_answers == 20
    assert (settings.pause_below, settings.pause_min_gold) == (0.75, 12)
    assert parse_settings(settings.model_dump(mode="json")) == settings
    assert (
        parse_settings({"qualification": {"grants_skill": "x", "threshold": 1}}).qualification.min_answers
        == 10
    )  # type: ignore[union-attr]
