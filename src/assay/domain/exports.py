"""Which rows an export keeps: the filters a data lead sets on a training set, declared once.

``ExportFilters`` is shared by every front door: the API reads it from the query string of
``GET /api/v1/projects/{id}/export`` (its fields are the query parameters, validated by pydantic),
``assay export`` from its flags (help texts come from the field descriptions) and ``Client.export*``
sends it.  A filter is valid only for the formats in ``APPLIES_TO``; naming it with another format
is an ``Invalid`` naming the parameter, never a filter silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assay.domain._errors import from_validation_error
from assay.errors import Invalid, detail

__all__ = ["APPLIES_TO", "REVIEWED", "ExportFilters", "Ties"]

Ties = Literal["drop", "keep"]
# The verdicts that make an answer "reviewed": a reviewer accepted it as it is, or corrected it.
REVIEWED = frozenset({"accept", "fix"})


class ExportFilters(BaseModel):
    """Filters of the training exports; ``None`` (and ``False``) mean "not set"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_answers: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="dpo, sft: keep a row only when its question has at least this many answers on the "
        "item (rejected answers do not count).",
    )
    min_confidence: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="dpo: keep a pair only when the confidence of its label is at least this (0 to 1).",
    )
    reviewed_only: bool = Field(
        default=False,
        description="Use only answers a reviewer accepted or fixed: labels, pairs and rows come from "
        "them alone.",
    )
    ties: Ties | None = Field(
        default=None,
        description="dpo: drop ties and split decisions (drop, the default) or keep them as rows "
        "marked tie: true with margin 0.",
    )

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> ExportFilters:
        """Filters from outside input; ``Invalid`` names each bad parameter and value."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            raise from_validation_error(exc, what="export filters", known=cls.model_fields) from None

    def given(self) -> dict[str, Any]:
        """The filters that are set, by parameter name (what goes into a query string)."""
        return self.model_dump(exclude_defaults=True)

    def check(self, fmt: str) -> None:
        """Refuse a filter that does not apply to ``fmt``, naming it."""
        for name, value in self.given().items():
            formats = APPLIES_TO[name]
            if fmt not in formats:
                raise Invalid(
                    f"{name} does not apply to the {fmt} export; it filters {' and '.join(formats)} rows",
                    errors=[detail(name, f"not a filter of the {fmt} export", value=value)],
                )


# Where each filter means something: a raw export (jsonl, csv, parquet) holds every item and every
# answer, so only the choice of answers (reviewed_only) applies to it.
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "min_answers": ("dpo", "sft"),
    "min_confidence": ("dpo",),
    "reviewed_only": ("jsonl", "csv", "parquet", "dpo", "sft"),
    "ties": ("dpo",),
}
