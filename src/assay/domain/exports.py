"""Which rows an export keeps: the filters a data lead sets on a training set, declared once.

``ExportFilters`` is shared by every front door: the API reads it from the query string of
``GET /api/v1/projects/{id}/export`` (its fields are the query parameters, validated by pydantic),
``assay export`` from its flags and ``Client.export*`` sends it.  What each filter keeps and where
it applies are plain data in ``assay.domain.filters`` (the flags' help comes from there too).  A
filter is valid only for the formats in ``APPLIES_TO``; naming it with another format is an
``Invalid`` naming the parameter, never a filter silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assay.domain._errors import from_validation_error
from assay.domain.filters import APPLIES_TO, HELP, REVIEWED
from assay.errors import Invalid, detail

__all__ = ["APPLIES_TO", "REVIEWED", "ExportFilters", "Ties"]

Ties = Literal["drop", "keep"]  # as filters.TIES (a test keeps the two in step)


class ExportFilters(BaseModel):
    """Filters of the training exports; ``None`` (and ``False``) mean "not set"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_answers: int | None = Field(default=None, ge=1, le=10_000, description=HELP["min_answers"])
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0, description=HELP["min_confidence"])
    reviewed_only: bool = Field(default=False, description=HELP["reviewed_only"])
    ties: Ties | None = Field(default=None, description=HELP["ties"])

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
