"""A project's schema (inputs + questions) and settings, parsed from YAML/JSON documents (DESIGN §3).

``parse_schema`` and ``parse_settings`` are the only way outside input becomes a ``ProjectSchema`` or
``ProjectSettings``: they raise ``Invalid`` with one ``errors`` entry per problem, each ``loc`` a
path such as ``questions[2].scale.max``.  Item records and answers are checked by ``items`` and
``answers``; their public names are re-exported here so callers need one import.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, model_validator

from assay.domain._errors import from_validation_error, invalid
from assay.domain._fields import Strict, UniqueTexts
from assay.domain.answers import validate_answers
from assay.domain.documents import load_document
from assay.domain.inputs import (
    CHAT_ROLES,
    INPUT_KINDS,
    MAX_RESPONSES,
    TEXT_KINDS,
    ChatInput,
    Input,
    MarkdownInput,
    ResponsesInput,
    TextInput,
)
from assay.domain.items import CheckedItem, ItemChecker, RecordError
from assay.domain.questions import (
    QUESTION_KINDS,
    ChatQuestion,
    ChoiceQuestion,
    Condition,
    MultiChoiceQuestion,
    PreferenceQuestion,
    PreferenceScale,
    Question,
    RankingQuestion,
    RatingQuestion,
    RatingScale,
    SpansQuestion,
    TextQuestion,
)
from assay.errors import ErrorDetail, detail

__all__ = [
    "CHAT_ROLES",
    "INPUT_KINDS",
    "MAX_RESPONSES",
    "QUESTION_KINDS",
    "ChatInput",
    "ChatQuestion",
    "CheckedItem",
    "ChoiceQuestion",
    "Condition",
    "Input",
    "ItemChecker",
    "MarkdownInput",
    "MultiChoiceQuestion",
    "PreferenceQuestion",
    "PreferenceScale",
    "ProjectSchema",
    "ProjectSettings",
    "Qualification",
    "Question",
    "RankingQuestion",
    "RatingQuestion",
    "RatingScale",
    "RecordError",
    "ResponsesInput",
    "SpansQuestion",
    "TextInput",
    "TextQuestion",
    "load_document",
    "parse_schema",
    "parse_settings",
    "validate_answers",
]

UNLIMITED = 1_000_000  # a cap no project reaches: "every annotator"

# Question kinds whose answer a `show_if` can test (spans and rankings are lists of structures).
_TESTABLE = ("choice", "multi_choice", "rating", "preference", "text")


class ProjectSchema(Strict):
    """What a project shows (``inputs``) and asks (``questions``)."""

    inputs: list[Input] = Field(min_length=1, max_length=100)
    questions: list[Question] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _cross_references(self, info: ValidationInfo) -> ProjectSchema:
        problems = _resolve(self)
        if problems:
            # parse_schema passes a list to collect every problem; direct construction stops at one.
            sink = info.context.get("problems") if isinstance(info.context, dict) else None
            if sink is None:
                raise ValueError(f"{problems[0]['loc']}: {problems[0]['msg']}")
            sink.extend(problems)
        return self

    def question(self, name: str) -> Question:
        """The question called ``name``; ``KeyError`` if there is none."""
        for question in self.questions:
            if question.name == name:
                return question
        raise KeyError(name)

    def input(self, name: str) -> Input:
        """The input called ``name``; ``KeyError`` if there is none."""
        for inp in self.inputs:
            if inp.name == name:
                return inp
        raise KeyError(name)

    def prompt_input(self) -> TextInput | MarkdownInput | ChatInput | None:
        """The input used as the prompt by DPO/SFT exports: the first one that is not ``responses``."""
        for inp in self.inputs:
            if not isinstance(inp, ResponsesInput):
                return inp
        return None

    def primary(self) -> tuple[str, list[Any]] | None:
        """(name, every value it can take) of the first categorical question, if any: the question
        gold is scored on and the quality models fit (they must know options nobody has picked yet)."""
        for q in self.questions:
            if isinstance(q, ChoiceQuestion):
                return q.name, list(q.options)
            if isinstance(q, RatingQuestion | PreferenceQuestion):
                return q.name, list(range(q.scale.min, q.scale.max + 1))
        return None

    def responses_input(self) -> ResponsesInput | None:
        """The first ``responses`` input, if any."""
        for inp in self.inputs:
            if isinstance(inp, ResponsesInput):
                return inp
        return None

    def chat_question(self) -> ChatQuestion | None:
        """The project's live chat question (a schema has at most one)."""
        for q in self.questions:
            if isinstance(q, ChatQuestion):
                return q
        return None

    def completion_question(self) -> TextQuestion | None:
        """The text question whose answer is an SFT completion: the one marked ``completion: true``,
        else the only one prefilled from an input (the rewrite pattern); None if neither decides."""
        texts = [q for q in self.questions if isinstance(q, TextQuestion)]
        marked = [q for q in texts if q.completion]
        prefilled = [q for q in texts if q.prefill is not None]
        if marked:
            return marked[0]
        return prefilled[0] if len(prefilled) == 1 else None


def _resolve(schema: ProjectSchema) -> list[ErrorDetail]:
    """Check names and references across the document; fill in default ``input`` references."""
    problems: list[ErrorDetail] = []
    inputs: dict[str, Input] = {}
    for i, inp in enumerate(schema.inputs):
        if inp.name in inputs:
            problems.append(detail(f"inputs[{i}].name", f"duplicate input name {inp.name!r}", value=inp.name))
        inputs.setdefault(inp.name, inp)
    first = {
        "text": next((n for n, inp in inputs.items() if inp.kind in TEXT_KINDS), None),
        "responses": next((n for n, inp in inputs.items() if inp.kind == "responses"), None),
    }
    asked: dict[str, Question] = {}
    names = {q.name for q in schema.questions}
    completion: tuple[int, str] | None = None
    chat: tuple[int, str] | None = None
    for i, question in enumerate(schema.questions):
        at = f"questions[{i}]"
        if question.name in asked:
            problems.append(
                detail(f"{at}.name", f"duplicate question name {question.name!r}", value=question.name)
            )
        if question.show_if is not None:
            problems.extend(_check_condition(question.show_if, asked, names, at=f"{at}.show_if"))
        asked.setdefault(question.name, question)
        if isinstance(question, SpansQuestion):
            problems.extend(_reference(question, "input", inputs, first["text"], TEXT_KINDS, at=at))
        elif isinstance(question, PreferenceQuestion | RankingQuestion):
            problems.extend(_reference(question, "input", inputs, first["responses"], ("responses",), at=at))
        elif isinstance(question, ChatQuestion):
            if question.input is not None:
                problems.extend(_reference(question, "input", inputs, None, (*TEXT_KINDS, "chat"), at=at))
            if chat is not None:
                problems.append(
                    detail(
                        f"{at}.kind",
                        f"a project holds one chat question, and questions[{chat[0]}] ({chat[1]!r}) is one",
                    )
                )
            chat = chat or (i, question.name)
        elif isinstance(question, TextQuestion):
            if question.prefill is not None:
                problems.extend(_reference(question, "prefill", inputs, None, TEXT_KINDS, at=at))
            if question.completion:
                completion = completion if completion is not None else (i, question.name)
                if completion[0] != i:
                    problems.append(_second_completion(at, completion))
    return problems


def _second_completion(at: str, first: tuple[int, str]) -> ErrorDetail:
    # An SFT row pairs one prompt with one completion; two marked questions would leave it to chance
    # which answer is trained on.  Rationales and notes stay unmarked and travel as provenance.
    return detail(
        f"{at}.completion",
        f"only one question may be the completion, and questions[{first[0]}] ({first[1]!r}) already is; "
        "leave completion off the others (their answers go into each row's rationales)",
        value=True,
    )


def _reference(
    question: Question,
    field: str,
    inputs: dict[str, Input],
    default: str | None,
    kinds: tuple[str, ...],
    *,
    at: str,
) -> list[ErrorDetail]:
    wanted = " or ".join(kinds)
    name = getattr(question, field)
    if name is None:
        if default is None:
            return [
                detail(
                    f"{at}.{field}", f"a {question.kind} question needs a {wanted} input; add one to inputs"
                )
            ]
        setattr(question, field, default)
        return []
    inp = inputs.get(name)
    if inp is None:
        known = ", ".join(inputs) or "none"
        return [detail(f"{at}.{field}", f"{name!r} is not an input (inputs: {known})", value=name)]
    if inp.kind not in kinds:
        return [
            detail(f"{at}.{field}", f"input {name!r} is {inp.kind}; this needs a {wanted} input", value=name)
        ]
    return []


def _check_condition(
    condition: Condition, asked: dict[str, Question], names: set[str], *, at: str
) -> list[ErrorDetail]:
    target = asked.get(condition.question)
    if target is None:
        why = "comes later" if condition.question in names else "is not a question"
        return [
            detail(
                f"{at}.question",
                f"{condition.question!r} {why}; show_if must refer to an earlier question",
                value=condition.question,
            )
        ]
    if target.kind not in _TESTABLE:
        return [detail(f"{at}.question", f"show_if cannot test a {target.kind} question ({target.name!r})")]
    field = "equals" if condition.equals is not None else "in"
    problems: list[ErrorDetail] = []
    for value in condition.values:
        msg = _impossible(target, value)
        if msg is not None:
            problems.append(detail(f"{at}.{field}", msg, value=value))
    return problems


def _impossible(target: Question, value: Any) -> str | None:
    """Why ``value`` can never be an answer to ``target``, or None if it can."""
    if isinstance(target, ChoiceQuestion | MultiChoiceQuestion):
        if value not in target.options:
            return f"{value!r} is not an option of {target.name!r} ({', '.join(target.options)})"
    elif isinstance(target, RatingQuestion | PreferenceQuestion):
        low, high = target.scale.min, target.scale.max
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"{value!r} is not a point of {target.name!r}'s scale {low}..{high}"
    elif not isinstance(value, str):
        return f"{value!r} can never be the answer to the text question {target.name!r}"
    return None


class Qualification(Strict):
    """A project run as an exam of gold items: pass it and the skill is granted."""

    grants_skill: str = Field(min_length=1, max_length=100, description="Skill granted on passing.")
    threshold: float = Field(ge=0.0, le=1.0, description="Gold accuracy needed to pass.")
    min_answers: int = Field(default=10, ge=1, le=10_000, description="Gold answers needed first.")


# The quality engine's method names (``assay.quality.METHODS``; a test keeps the two in step).  Not
# imported from there: the engine loads NumPy/SciPy, which the server should not pay for at start.
AggregationMethod = Literal["mv", "wawa", "ds", "one-coin", "glad", "mace"]


class ProjectSettings(Strict):
    """How a project is run: overlap, gold, leases, who may work on it, quality gates."""

    overlap: int = Field(default=1, ge=1, le=100, description="Answers wanted per item.")
    gold_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="Share of gold items served.")
    gold_overlap: int | None = Field(
        default=None,
        ge=1,
        le=UNLIMITED,
        description="Answers a gold item may collect; default: the overlap (a qualification: every candidate).",
    )
    lease_seconds: int = Field(default=900, ge=30, le=86400, description="How long an assignment is held.")
    workforces: UniqueTexts = Field(default_factory=list, description="Workforces allowed; empty: all.")
    batches: dict[Annotated[str, Field(min_length=1, max_length=100)], UniqueTexts] = Field(
        default_factory=dict, description="Item batch → the only workforces it is shared with."
    )
    required_skills: UniqueTexts = Field(default_factory=list, description="Skills an annotator needs.")
    instructions: str = Field(default="", max_length=200_000, description="Guidelines in Markdown.")
    max_leases: int = Field(default=2, ge=1, le=20, description="Unexpired leases an annotator may hold.")
    target_confidence: float | None = Field(
        default=None, gt=0.5, lt=1.0, description="Adaptive overlap: stop once an item's label is this sure."
    )
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000, description="Order among projects.")
    qualification: Qualification | None = Field(
        default=None, description="Grant a skill to annotators who pass this project's gold."
    )
    pause_below: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="Pause an annotator whose gold accuracy is surely (Wilson upper bound) below this.",
    )
    pause_min_gold: int = Field(
        default=10, ge=1, le=10_000, description="Gold answers needed before anyone is paused."
    )
    method: AggregationMethod = Field(
        default="ds",
        description="Truth inference for consensus, scorecards and adaptive overlap (assay.quality).",
    )

    @property
    def gold_cap(self) -> int:
        """How many annotators a gold item is shown to.  By default as many as a normal item (the
        overlap): a gold item seen by more people than any other item could be spotted by colleagues
        comparing notes.  A qualification project is an exam every candidate takes whole."""
        if self.gold_overlap is not None:
            return self.gold_overlap
        return UNLIMITED if self.qualification is not None else self.overlap


def _field_names(*models: type[BaseModel]) -> set[str]:
    out: set[str] = set()
    for model in models:
        out.update(f.alias or name for name, f in model.model_fields.items())
    return out


_SCHEMA_FIELDS = _field_names(
    ProjectSchema, TextInput, ResponsesInput, ChoiceQuestion, SpansQuestion, PreferenceQuestion,
    RatingQuestion, TextQuestion, Condition, RatingScale,
)  # fmt: skip
_SETTINGS_FIELDS = _field_names(ProjectSettings, Qualification)


def parse_schema(obj: Any) -> ProjectSchema:
    """Validate a decoded schema document; ``Invalid`` lists every problem with its path."""
    if not isinstance(obj, dict):
        got = "nothing" if obj is None else type(obj).__name__
        raise invalid(
            [detail("", f"a schema is an object with 'inputs' and 'questions', got {got}")],
            what="project schema",
        )
    problems: list[ErrorDetail] = []
    try:
        schema = ProjectSchema.model_validate(obj, context={"problems": problems})
    except ValidationError as exc:
        raise from_validation_error(exc, what="project schema", known=_SCHEMA_FIELDS) from None
    if problems:
        raise invalid(problems, what="project schema")
    return schema


def parse_settings(obj: Any) -> ProjectSettings:
    """Validate a decoded settings document (``None`` means all defaults)."""
    if obj is None:
        return ProjectSettings()
    if not isinstance(obj, dict):
        raise invalid(
            [detail("", f"settings are an object, got {type(obj).__name__}")], what="project settings"
        )
    try:
        return ProjectSettings.model_validate(obj)
    except ValidationError as exc:
        raise from_validation_error(exc, what="project settings", known=_SETTINGS_FIELDS) from None
