"""The export filters' two declarations (plain data for help, the model for validation) agree."""

from __future__ import annotations

from typing import get_args

import pytest

from assay.domain import filters
from assay.domain.exports import ExportFilters, Ties
from assay.errors import Invalid


def test_the_plain_declarations_and_the_model_name_the_same_filters() -> None:
    assert set(filters.HELP) == set(filters.APPLIES_TO) == set(ExportFilters.model_fields)
    assert get_args(Ties) == filters.TIES
    for name, field in ExportFilters.model_fields.items():
        assert field.description == filters.HELP[name]


def test_parse_names_the_parameter_and_check_the_format() -> None:
    with pytest.raises(Invalid, match="min_answers: 0 is not allowed: must be at least 1") as bad:
        ExportFilters.parse({"min_answers": 0})
    assert bad.value.errors[0]["loc"] == "min_answers"
    with pytest.raises(Invalid, match="unknown field 'min_answer'; did you mean 'min_answers'"):
        ExportFilters.parse({"min_answer": 2})
    chosen = ExportFilters.parse({"min_answers": "2", "ties": "keep"})
    assert chosen.given() == {"min_answers": 2, "ties": "keep"}
    chosen.check("dpo")
    with pytest.raises(Invalid, match="ties does not apply to the sft export"):
        chosen.check("sft")
    ExportFilters(reviewed_only=True).check("parquet")
