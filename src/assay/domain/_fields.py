"""Building blocks shared by the schema models: the strict base model and constrained field types."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from assay import patterns

_NAME = patterns.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_INTEGER = patterns.compile(r"-?[0-9]+")


class Strict(BaseModel):
    """Strict, closed models: a typo in a key or a quoted number is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid name: use 1 to 64 letters, digits or _, not starting with a digit "
            "(e.g. overall_quality)"
        )
    return value


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _unique_texts(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice; each entry must be unique")
        seen.add(value)
    return values


def _point_labels(value: Any) -> Any:
    """Scale-point labels are keyed by the point; JSON object keys are strings, so accept "-3" too."""
    if not isinstance(value, dict):
        return value
    out: dict[Any, Any] = {}
    for key, label in value.items():
        if isinstance(key, str) and _INTEGER.fullmatch(key.strip()):
            out[int(key)] = label
        elif isinstance(key, int) and not isinstance(key, bool):
            out[key] = label
        else:
            raise ValueError(f"label key {key!r} is not a point of the scale (an integer such as -3 or 5)")
    return out


Name = Annotated[str, AfterValidator(_name)]
"""An identifier-like name: letters, digits and underscores, not starting with a digit."""

Text = Annotated[str, AfterValidator(_non_blank)]
"""A string with at least one non-space character."""

UniqueTexts = Annotated[list[Text], AfterValidator(_unique_texts)]
"""A list of distinct non-blank strings (options, span labels, workforce names)."""

PointLabels = Annotated[dict[int, Text], BeforeValidator(_point_labels)]
"""Labels for some points of an integer scale, keyed by the point (``{-3: "A much better"}``)."""
