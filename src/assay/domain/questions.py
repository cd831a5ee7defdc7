"""Questions: what a project asks about each item, one model per kind (DESIGN §3)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from assay.domain._fields import Name, PointLabels, Strict, UniqueTexts

QUESTION_KINDS = ("choice", "multi_choice", "spans", "preference", "ranking", "rating", "text", "chat")

Scalar = str | int | bool


class Condition(Strict):
    """``show_if``: ask the question only when an earlier answer ``equals`` a value or is ``in`` a list.

    For a ``multi_choice`` question the condition holds when any selected option matches.
    """

    question: Name
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        if (self.equals is None) == (self.in_ is None):
            raise ValueError("give exactly one of 'equals' (a value) or 'in' (a list of values)")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # `in` is a Python keyword, so the field is `in_`; documents always say `in`.
        out: dict[str, Any] = handler(self)
        if "in_" in out:
            out["in"] = out.pop("in_")
        return out

    @property
    def values(self) -> tuple[Scalar, ...]:
        """The values that make the condition true."""
        return (self.equals,) if self.equals is not None else tuple(self.in_ or ())


class _Question(Strict):
    kind: str  # narrowed to one Literal per subclass; declared first so documents list it first
    name: Name
    label: str | None = None
    help: str | None = None
    required: bool = True
    show_if: Condition | None = None


class _Options(_Question):
    options: UniqueTexts = Field(min_length=1, max_length=200)
    hotkeys: list[str] | None = None

    @field_validator("hotkeys")
    @classmethod
    def _hotkeys(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if value is None:
            return None
        options = info.data.get("options")
        if options is not None and len(value) != len(options):
            raise ValueError(f"give one hotkey per option ({len(options)}), got {len(value)}")
        seen: set[str] = set()
        for key in value:
            if len(key) != 1 or key.isspace():
                raise ValueError(f"hotkey {key!r} must be a single visible character, e.g. '1' or 'a'")
            if key.lower() in seen:
                raise ValueError(f"hotkey {key!r} is used twice")
            seen.add(key.lower())
        return value


class ChoiceQuestion(_Options):
    """One option out of several."""

    kind: Literal["choice"]

    @field_validator("options")
    @classmethod
    def _two(cls, value: list[str]) -> list[str]:
        if len(value) < 2:
            raise ValueError("a choice needs at least 2 options")
        return value


class MultiChoiceQuestion(_Options):
    """Any set of options; a required one needs at least one selected."""

    kind: Literal["multi_choice"]


class SpansQuestion(_Question):
    """Labelled character spans over a text or markdown input (default: the first one)."""

    kind: Literal["spans"]
    labels: UniqueTexts = Field(min_length=1, max_length=100)
    input: Name | None = None


class PreferenceScale(Strict):
    """A symmetric scale around 0 (a tie): negative prefers ``responses[0]``, positive ``responses[1]``."""

    min: int
    max: int = Field(ge=1, le=100)

    @field_validator("max")
    @classmethod
    def _symmetric(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("min")
        if low is not None and low != -value:
            raise ValueError(
                f"a preference scale is symmetric around 0 (a tie): with max {value}, min must be {-value}"
            )
        return value


class RatingScale(Strict):
    """An integer scale from ``min`` to ``max`` (Likert, rubric points)."""

    min: int = Field(ge=-1000, le=1000)
    max: int = Field(ge=-1000, le=1000)

    @field_validator("max")
    @classmethod
    def _above_min(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("min")
        if low is not None and value <= low:
            raise ValueError(f"max must be greater than min ({low})")
        return value


def _labels_within(labels: dict[int, str] | None, low: int, high: int) -> None:
    for point in labels or {}:
        if not low <= point <= high:
            raise ValueError(f"label for {point} is outside the scale {low}..{high}")


class PreferenceQuestion(_Question):
    """A vs B on a symmetric scale for one criterion; several criteria are several questions."""

    kind: Literal["preference"]
    scale: PreferenceScale
    labels: PointLabels | None = None
    input: Name | None = None

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[int, str] | None, info: ValidationInfo) -> dict[int, str] | None:
        scale = info.data.get("scale")
        if scale is not None:
            _labels_within(value, scale.min, scale.max)
        return value


class RankingQuestion(_Question):
    """An order of a responses input's items, best first, ties allowed."""

    kind: Literal["ranking"]
    input: Name | None = None


class RatingQuestion(_Question):
    """An integer on a scale."""

    kind: Literal["rating"]
    scale: RatingScale
    labels: PointLabels | None = None

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[int, str] | None, info: ValidationInfo) -> dict[int, str] | None:
        scale = info.data.get("scale")
        if scale is not None:
            _labels_within(value, scale.min, scale.max)
        return value


class TextQuestion(_Question):
    """Free text, optionally prefilled from a text or markdown input (to edit an SFT answer).

    ``completion: true`` marks the question whose answer is the completion of the ``sft`` export;
    without a mark, a question prefilled from an input is.  Other text answers are rationales.
    """

    kind: Literal["text"]
    prefill: Name | None = None
    completion: bool = False
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1)

    @field_validator("max_length")
    @classmethod
    def _range(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("min_length")
        if value is not None and low is not None and value < low:
            raise ValueError(f"max_length must be at least min_length ({low})")
        return value


MAX_CHAT_CANDIDATES = 8
MAX_CHAT_MODELS = 8


class ChatQuestion(_Question):
    """A live conversation with models, judged turn by turn (DESIGN §8).

    The annotator writes a user turn; the server asks ``models`` for ``candidates`` answers
    (candidate k from ``models[k % len(models)]``), the annotator prefers one (``judge:
    preference``, two candidates, a strength from 1 to ``strengths``, a tie when ``ties``) or ranks
    them (``judge: ranking``, ties as groups), may ``rewrite`` the chosen one and ``rate`` it, and the
    conversation continues from the chosen or rewritten turn.  ``input`` names an item input that
    fixes the first user turn (a text, or a chat ending with a user turn): its candidates are made
    once per item and shared by everyone who judges it, so overlap compares like with like.
    """

    kind: Literal["chat"]
    models: UniqueTexts = Field(min_length=1, max_length=MAX_CHAT_MODELS)
    candidates: int | None = Field(default=None, ge=2, le=MAX_CHAT_CANDIDATES)
    max_turns: int = Field(default=8, ge=1, le=50)
    judge: Literal["preference", "ranking"] | None = None
    strengths: int = Field(default=3, ge=1, le=5)
    ties: bool = True
    rewrite: bool = False
    rating: RatingScale | None = None
    input: Name | None = None
    system: str | None = Field(default=None, max_length=20_000)

    @field_validator("models")
    @classmethod
    def _model_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if len(name) > 100:
                raise ValueError(f"model name {name[:20]!r}... is longer than 100 characters")
        return value

    @model_validator(mode="after")
    def _defaults(self) -> ChatQuestion:
        if self.candidates is None:
            self.candidates = max(2, len(self.models))
        if self.judge is None:
            self.judge = "preference" if self.candidates == 2 else "ranking"
        if self.judge == "preference" and self.candidates != 2:
            raise ValueError(
                f"a preference compares two candidates; with {self.candidates} candidates use judge: ranking"
            )
        return self

    @property
    def n_candidates(self) -> int:
        return self.candidates or 2


Question = Annotated[
    ChoiceQuestion
    | MultiChoiceQuestion
    | SpansQuestion
    | PreferenceQuestion
    | RankingQuestion
    | RatingQuestion
    | TextQuestion
    | ChatQuestion,
    Field(discriminator="kind"),
]
"""Any question, chosen by its ``kind``."""

__all__ = [
    "QUESTION_KINDS",
    "ChatQuestion",
    "ChoiceQuestion",
    "Condition",
    "MultiChoiceQuestion",
    "PreferenceQuestion",
    "PreferenceScale",
    "Question",
    "RankingQuestion",
    "RatingQuestion",
    "RatingScale",
    "SpansQuestion",
    "TextQuestion",
]
