"""Check and normalise answers (a submission, or an item's gold) against a project's questions.

Each question is compiled once into a small function ``(value, data) -> normalised value`` that
raises ``Problem``; ``validate_answers`` runs them for a submission, ``ItemChecker`` for gold.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from assay.domain.chat import TREE_KEY, ChatProblem, check_conversation
from assay.domain.questions import (
    ChatQuestion,
    ChoiceQuestion,
    MultiChoiceQuestion,
    PreferenceQuestion,
    Question,
    RankingQuestion,
    RatingQuestion,
    SpansQuestion,
    TextQuestion,
)
from assay.errors import ErrorDetail, Invalid, detail
from assay.limits import check_json

if TYPE_CHECKING:
    from assay.domain.schema import ProjectSchema

__all__ = [
    "DURATION_RULE",
    "CompiledQuestion",
    "Problem",
    "check_answers",
    "check_duration",
    "compile_questions",
    "show",
    "validate_answers",
]

Check = Callable[[Any, Mapping[str, Any]], Any]


class Problem(ValueError):
    """One bad answer: ``where`` is a path below the question (``[2].end``), ``msg`` says why."""

    def __init__(self, msg: str, where: str = "") -> None:
        super().__init__(msg)
        self.msg = msg
        self.where = where


class CompiledQuestion(NamedTuple):
    name: str
    required: bool
    check: Check
    # show_if as (question, values, whether that question is multi_choice); None when always shown.
    condition: tuple[str, frozenset[Any], bool] | None


def show(value: Any) -> str:
    """A short repr of a submitted value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _scale_check(low: int, high: int) -> Check:
    def check(value: Any, data: Mapping[str, Any]) -> Any:
        if not _is_int(value):
            raise Problem(f"{show(value)} is not an integer on the scale {low}..{high}")
        if not low <= value <= high:
            raise Problem(f"{value} is outside the scale {low}..{high}")
        return value

    return check


def _choice_check(question: ChoiceQuestion) -> Check:
    options = frozenset(question.options)
    listed = ", ".join(question.options)

    def check(value: Any, data: Mapping[str, Any]) -> Any:
        if not isinstance(value, str) or value not in options:
            raise Problem(f"{show(value)} is not one of the options: {listed}")
        return value

    return check


def _multi_check(question: MultiChoiceQuestion) -> Check:
    order = {option: i for i, option in enumerate(question.options)}
    listed = ", ".join(question.options)
    required = question.required

    def check(value: Any, data: Mapping[str, Any]) -> Any:
        if not isinstance(value, list):
            raise Problem(f"{show(value)} is not a list of options")
        seen: set[str] = set()
        for i, option in enumerate(value):
            if not isinstance(option, str) or option not in order:
                raise Problem(f"{show(option)} is not one of the options: {listed}", f"[{i}]")
            if option in seen:
                raise Problem(f"{option!r} is selected twice", f"[{i}]")
            seen.add(option)
        if required and not value:
            raise Problem("is required: select at least one option")
        return sorted(value, key=order.__getitem__)  # options order: equal sets compare equal

    return check


def _spans_check(question: SpansQuestion) -> Check:
    labels = frozenset(question.labels)
    listed = ", ".join(question.labels)
    source = question.input
    keys = {"start", "end", "label"}

    def check(value: Any, data: Mapping[str, Any]) -> Any:
        if not isinstance(value, list):
            raise Problem(f"{show(value)} is not a list of spans {{start, end, label}}")
        text = data.get(source) if source is not None else None
        if not isinstance(text, str):
            if value:
                raise Problem(f"the item has no text in {source!r} to mark")
            return []
        size = len(text)
        out: list[dict[str, Any]] = []
        seen: set[tuple[int, int, str]] = set()
        for i, span in enumerate(value):
            if not isinstance(span, dict) or span.keys() != keys:
                raise Problem(f"{show(span)} is not a span: give exactly start, end and label", f"[{i}]")
            start, end, label = span["start"], span["end"], span["label"]
            if not _is_int(start) or not 0 <= start < size:
                raise Problem(
                    f"start {show(start)} is not a character offset in 0..{size - 1}", f"[{i}].start"
                )
            if not _is_int(end) or not start < end <= size:
                raise Problem(
                    f"end {show(end)} must be after start ({start}) and at most {size}", f"[{i}].end"
                )
            if not isinstance(label, str) or label not in labels:
                raise Problem(f"{show(label)} is not one of the labels: {listed}", f"[{i}].label")
            if (start, end, label) in seen:
                raise Problem(f"span {start}..{end} {label!r} is given twice", f"[{i}]")
            seen.add((start, end, label))
            out.append({"start": start, "end": end, "label": label})
        out.sort(key=lambda s: (s["start"], s["end"], s["label"]))
        return out

    return check


def _ranking_check(question: RankingQuestion) -> Check:
    source = question.input

    def check(value: Any, data: Mapping[str, Any]) -> Any:
        responses = data.get(source) if source is not None else None
        if not isinstance(responses, list):
            raise Problem(f"the item has no responses in {source!r} to rank")
        order = {r.get("id"): i for i, r in enumerate(responses) if isinstance(r, dict)}
        if not isinstance(value, list) or not value:
            raise Problem(
                f"{show(value)} is not a ranking: give a list of groups of response ids, best first"
            )
        placed: set[Any] = set()
        out: list[list[str]] = []
        for i, group in enumerate(value):
            members = [group] if isinstance(group, str) else group  # a bare id is a group of one
            if not isinstance(members, list) or not members:
                raise Problem(
                    f"{show(group)} is not a group: give a non-empty list of response ids", f"[{i}]"
                )
            for rid in members:
                if not isinstance(rid, str) or rid not in order:
                    known = ", ".join(map(str, order))
                    raise Problem(f"{show(rid)} is not a response id of this item ({known})", f"[{i}]")
                if rid in placed:
                    raise Problem(f"response {rid!r} is ranked twice", f"[{i}]")
                placed.add(rid)
            out.append(sorted(members, key=order.__getitem__))
        missing = [str(rid) for rid in order if rid not in placed]
        if missing:
            raise Problem(f"every response must be ranked; missing: {', '.join(missing)}")
        return out

    return check


def _text_check(question: TextQuestion) -> Check:
    low, high, required = question.min_length, question.max_length, question.required

    def check(value: Any, data: Mapping[str, Any]) -> Any:
        if not isinstance(value, str):
            raise Problem(f"{show(value)} is not text")
        if required and not value.strip():
            raise Problem("is required: write an answer")
        if low is not None and len(value) < low:
            raise Problem(f"is {len(value)} characters long; write at least {low}")
        if high is not None and len(value) > high:
            raise Problem(f"is {len(value)} characters long; the limit is {high}")
        return value  # kept exactly as written: leading/trailing space may be deliberate

    return check


def _chat_check(question: ChatQuestion) -> Check:
    def check(value: Any, data: Mapping[str, Any]) -> Any:
        try:
            return check_conversation(question, value, data.get(TREE_KEY))
        except ChatProblem as exc:
            raise Problem(exc.msg, exc.where) from None

    return check


def _compile(question: Question) -> Check:
    if isinstance(question, ChoiceQuestion):
        return _choice_check(question)
    if isinstance(question, MultiChoiceQuestion):
        return _multi_check(question)
    if isinstance(question, SpansQuestion):
        return _spans_check(question)
    if isinstance(question, PreferenceQuestion | RatingQuestion):
        return _scale_check(question.scale.min, question.scale.max)
    if isinstance(question, RankingQuestion):
        return _ranking_check(question)
    if isinstance(question, ChatQuestion):
        return _chat_check(question)
    return _text_check(question)


def compile_questions(schema: ProjectSchema) -> tuple[CompiledQuestion, ...]:
    """One checker per question, in schema order (conditions only refer to earlier questions)."""
    kinds = {q.name: q.kind for q in schema.questions}
    out: list[CompiledQuestion] = []
    for q in schema.questions:
        cond = None
        if q.show_if is not None:
            target = q.show_if.question
            cond = (target, frozenset(q.show_if.values), kinds.get(target) == "multi_choice")
        out.append(CompiledQuestion(q.name, q.required, _compile(q), cond))
    return tuple(out)


def _shown(cond: tuple[str, frozenset[Any], bool], clean: Mapping[str, Any]) -> bool:
    target, values, multi = cond
    answer = clean.get(target)
    if answer is None:
        return False
    if multi:
        return any(option in values for option in answer)
    return isinstance(answer, str | int) and answer in values


def _describe(cond: tuple[str, frozenset[Any], bool]) -> str:
    values = sorted(map(repr, cond[1]))
    return f"{cond[0]} is {values[0]}" if len(values) == 1 else f"{cond[0]} is one of {', '.join(values)}"


def check_answers(
    questions: tuple[CompiledQuestion, ...],
    *,
    data: Mapping[str, Any],
    answers: Mapping[str, Any],
    partial: bool,
    prefix: str,
) -> tuple[dict[str, Any], list[ErrorDetail]]:
    """Normalised answers (nulls dropped) and the problems found, each naming ``prefix.question``."""
    problems: list[ErrorDetail] = []
    names = [q.name for q in questions]
    for key in answers:
        if key not in names:
            guess = difflib.get_close_matches(str(key), names, n=1)
            hint = f"did you mean {guess[0]!r}?" if guess else f"the questions are {', '.join(names)}"
            problems.append(detail(f"{prefix}.{key}", f"unknown question; {hint}", question=str(key)))
    clean: dict[str, Any] = {}
    for q in questions:
        value = answers.get(q.name)
        shown = True
        if q.condition is not None:
            # In a partial answer set an unanswered condition is unknown, not false.
            undecided = partial and answers.get(q.condition[0]) is None
            shown = undecided or _shown(q.condition, clean)
        if value is None:
            if shown and q.required and not partial:
                problems.append(detail(f"{prefix}.{q.name}", "is required", question=q.name))
            continue
        if not shown and q.condition is not None:
            msg = f"must be left out: the question is asked only when {_describe(q.condition)}"
            problems.append(detail(f"{prefix}.{q.name}", msg, question=q.name, value=_jsonable(value)))
            continue
        try:
            clean[q.name] = q.check(value, data)
        except Problem as exc:
            loc = f"{prefix}.{q.name}{exc.where}"
            problems.append(detail(loc, exc.msg, question=q.name, value=_jsonable(value)))
    return clean, problems


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else show(value)


def validate_answers(
    schema: ProjectSchema, *, data: Mapping[str, Any], answers: Any, partial: bool = False
) -> dict[str, Any]:
    """The normalised answers to one item, or ``Invalid`` with one entry per problem.

    ``data`` is the item's payload (spans and rankings are checked against it).  ``partial``
    allows required questions to be missing (drafts, gold).  Unanswered optional questions and
    nulls are left out of the result; spans come back sorted, multi_choice in option order.
    """
    if not isinstance(answers, Mapping):
        msg = f"must be an object mapping question names to answers, got {type(answers).__name__}"
        raise Invalid(f"answers: {msg}", errors=[detail("answers", msg)])
    # Bounds first: nothing below may echo a value that cannot be stored or sent back (a lone
    # surrogate in a message would break the response itself).
    check_json(dict(answers), where="answers")
    clean, problems = check_answers(
        compile_questions(schema), data=data, answers=answers, partial=partial, prefix="answers"
    )
    if problems:
        first, more = problems[0], len(problems) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise Invalid(f"{first['loc']}: {first['msg']}{tail}", errors=problems)
    return clean


DURATION_RULE = "must be a non-negative integer of milliseconds"
_MAX_DURATION = 2**31  # a 32-bit column


def check_duration(duration_ms: Any) -> bool:
    """Whether ``duration_ms`` is a storable duration: None, or a non-negative integer of
    milliseconds below 2**31.  A submit and an import of answers both ask this (``DURATION_RULE``
    says what fails it)."""
    if duration_ms is None:
        return True
    return (
        isinstance(duration_ms, int)
        and not isinstance(duration_ms, bool)
        and 0 <= duration_ms < _MAX_DURATION
    )


def gold_mark(answers: dict[str, Any], gold: dict[str, Any] | None, question: str) -> bool | None:
    """Whether an answer matches the gold answer of ``question`` (the schema's ``primary``); None
    when the gold has no value for it."""
    if not gold or gold.get(question) is None:
        return None
    return bool(answers.get(question) == gold[question])
