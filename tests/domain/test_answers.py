"""Answers to an item's questions: per-kind rules, conditions, normalisation, and properties."""

# Tables of exact error messages read best one case per line.

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.domain.schema import parse_schema, validate_answers
from assay.errors import Invalid

SCHEMA = parse_schema(
    {
        "inputs": [{"name": "text", "kind": "text"}, {"name": "responses", "kind": "responses"}],
        "questions": [
            {"name": "topic", "kind": "choice", "options": ["billing", "shipping", "other"]},
            {"name": "tags", "kind": "multi_choice", "options": ["rude", "urgent", "spam"]},
            {"name": "marks", "kind": "spans", "labels": ["complaint", "request"], "required": False},
            {"name": "overall", "kind": "preference", "scale": {"min": -3, "max": 3}},
            {"name": "order", "kind": "ranking", "required": False},
            {"name": "helpful", "kind": "rating", "scale": {"min": 1, "max": 7}},
            {"name": "why", "kind": "text", "required": False, "max_length": 20},
            {
                "name": "detail",
                "kind": "text",
                "min_length": 3,
                "show_if": {"question": "topic", "equals": "other"},
            },
            {
                "name": "which",
                "kind": "choice",
                "options": ["x", "y"],
                "show_if": {"question": "tags", "in": ["spam", "rude"]},
            },
        ],
    }
)
DATA: dict[str, Any] = {
    "text": "Where is my parcel? Refund me.",
    "responses": [{"id": "a", "content": "A"}, {"id": "b", "content": "B"}, {"id": "c", "content": "C"}],
}
GOOD: dict[str, Any] = {"topic": "billing", "tags": ["urgent"], "overall": -2, "helpful": 6}


def check(answers: Any, *, partial: bool = False) -> dict[str, Any]:
    return validate_answers(SCHEMA, data=DATA, answers=answers, partial=partial)


def problems(answers: Any, *, partial: bool = False) -> list[tuple[str, str]]:
    with pytest.raises(Invalid) as info:
        check(answers, partial=partial)
    assert info.value.status == 422
    return [(e["loc"], e["msg"]) for e in info.value.errors]


def test_valid_answers_are_normalised() -> None:
    answers = {
        **GOOD,
        "tags": ["spam", "rude"],
        "marks": [
            {"label": "request", "end": 30, "start": 20},
            {"start": 0, "end": 19, "label": "complaint"},
        ],
        "order": [["c"], "a", ["b"]],
        "why": "  spacing kept ",
        "which": "y",
    }
    assert check(answers) == {
        "topic": "billing",
        "tags": ["rude", "spam"],
        "marks": [
            {"start": 0, "end": 19, "label": "complaint"},
            {"start": 20, "end": 30, "label": "request"},
        ],
        "overall": -2,
        "order": [["c"], ["a"], ["b"]],
        "helpful": 6,
        "why": "  spacing kept ",
        "which": "y",
    }


def test_optional_questions_may_be_null_or_absent() -> None:
    assert check({**GOOD, "why": None, "marks": None, "order": None}) == GOOD
    assert check({**GOOD, "marks": []})["marks"] == []


def test_the_design_example_message() -> None:
    with pytest.raises(Invalid) as info:
        check({**GOOD, "overall": 7})
    assert info.value.message == "answers.overall: 7 is outside the scale -3..3"
    assert info.value.errors == [
        {"loc": "answers.overall", "msg": "7 is outside the scale -3..3", "question": "overall", "value": 7}
    ]


def test_every_problem_is_listed() -> None:
    with pytest.raises(Invalid) as info:
        check({"topic": "nope", "overall": 1.0, "extra": 1})
    assert [(e["loc"], e["msg"]) for e in info.value.errors] == [
        (
            "answers.extra",
            "unknown question; the questions are topic, tags, marks, overall, order, helpful, why, detail, which",
        ),
        ("answers.topic", "'nope' is not one of the options: billing, shipping, other"),
        ("answers.tags", "is required"),
        ("answers.overall", "1.0 is not an integer on the scale -3..3"),
        ("answers.helpful", "is required"),
    ]
    assert info.value.message == (
        "answers.extra: unknown question; the questions are topic, tags, marks, overall, order, helpful, why, "
        "detail, which (and 4 more problems)"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"overal": 1}, ("answers.overal", "unknown question; did you mean 'overall'?")),
        ({"topic": ["billing"]}, ("answers.topic", "['billing'] is not one of the options: billing, shipping, other")),
        ({"tags": "urgent"}, ("answers.tags", "'urgent' is not a list of options")),
        ({"tags": []}, ("answers.tags", "is required: select at least one option")),
        ({"tags": ["urgent", "urgent"]}, ("answers.tags[1]", "'urgent' is selected twice")),
        ({"tags": ["urgent", "late"]}, ("answers.tags[1]", "'late' is not one of the options: rude, urgent, spam")),
        ({"marks": {"start": 0}}, ("answers.marks", "{'start': 0} is not a list of spans {start, end, label}")),
        ({"marks": [{"start": 0, "end": 2}]}, ("answers.marks[0]", "{'start': 0, 'end': 2} is not a span: give exactly start, end and label")),
        ({"marks": [{"start": 0, "end": 2, "label": "request", "text": "Wh"}]}, ("answers.marks[0]", "{'start': 0, 'end': 2, 'label': 'request', 'text': 'Wh'} is not a span: give exactly start, end and label")),
        ({"marks": [{"start": -1, "end": 2, "label": "request"}]}, ("answers.marks[0].start", "start -1 is not a character offset in 0..29")),
        ({"marks": [{"start": "0", "end": 2, "label": "request"}]}, ("answers.marks[0].start", "start '0' is not a character offset in 0..29")),
        ({"marks": [{"start": 4, "end": 4, "label": "request"}]}, ("answers.marks[0].end", "end 4 must be after start (4) and at most 30")),
        ({"marks": [{"start": 4, "end": 31, "label": "request"}]}, ("answers.marks[0].end", "end 31 must be after start (4) and at most 30")),
        ({"marks": [{"start": 4, "end": 5, "label": "praise"}]}, ("answers.marks[0].label", "'praise' is not one of the labels: complaint, request")),
        ({"marks": [{"start": 4, "end": 5, "label": "request"}] * 2}, ("answers.marks[1]", "span 4..5 'request' is given twice")),
        ({"overall": True}, ("answers.overall", "True is not an integer on the scale -3..3")),
        ({"overall": "2"}, ("answers.overall", "'2' is not an integer on the scale -3..3")),
        ({"overall": -4}, ("answers.overall", "-4 is outside the scale -3..3")),
        ({"order": "abc"}, ("answers.order", "'abc' is not a ranking: give a list of groups of response ids, best first")),
        ({"order": []}, ("answers.order", "[] is not a ranking: give a list of groups of response ids, best first")),
        ({"order": [["a", "b"], []]}, ("answers.order[1]", "[] is not a group: give a non-empty list of response ids")),
        ({"order": [["a", "b"], ["a", "c"]]}, ("answers.order[1]", "response 'a' is ranked twice")),
        ({"order": [["a", "b"], ["d"]]}, ("answers.order[1]", "'d' is not a response id of this item (a, b, c)")),
        ({"order": [["a"], ["b"]]}, ("answers.order", "every response must be ranked; missing: c")),
        ({"order": [[1, 2, 3]]}, ("answers.order[0]", "1 is not a response id of this item (a, b, c)")),
        ({"helpful": 0}, ("answers.helpful", "0 is outside the scale 1..7")),
        ({"helpful": 6.5}, ("answers.helpful", "6.5 is not an integer on the scale 1..7")),
        ({"why": 5}, ("answers.why", "5 is not text")),
        ({"why": "x" * 21}, ("answers.why", "is 21 characters long; the limit is 20")),
        ({"topic": "other"}, ("answers.detail", "is required")),
        ({"topic": "other", "detail": "ok"}, ("answers.detail", "is 2 characters long; write at least 3")),
        ({"topic": "other", "detail": "   "}, ("answers.detail", "is required: write an answer")),
        ({"detail": "not asked"}, ("answers.detail", "must be left out: the question is asked only when topic is 'other'")),
        ({"tags": ["spam"]}, ("answers.which", "is required")),
        ({"which": "x"}, ("answers.which", "must be left out: the question is asked only when tags is one of 'rude', 'spam'")),
    ],
)  # fmt: skip
def test_problems(change: dict[str, Any], expected: tuple[str, str]) -> None:
    assert problems({**GOOD, **change}) == [expected]


def test_answers_must_be_an_object() -> None:
    with pytest.raises(Invalid) as info:
        check([1])
    assert info.value.message == "answers: must be an object mapping question names to answers, got list"


def test_conditional_question_shown_when_condition_holds() -> None:
    assert check({**GOOD, "topic": "other", "detail": "a parcel"})["detail"] == "a parcel"
    assert check({**GOOD, "tags": ["rude", "urgent"], "which": "x"})["which"] == "x"


def test_partial_skips_required_but_still_checks_values() -> None:
    assert check({"overall": 0}, partial=True) == {"overall": 0}
    assert check({"detail": "unknown topic"}, partial=True) == {"detail": "unknown topic"}
    assert problems({"helpful": 9}, partial=True) == [("answers.helpful", "9 is outside the scale 1..7")]
    assert problems({"topic": "billing", "detail": "x y z"}, partial=True) == [
        ("answers.detail", "must be left out: the question is asked only when topic is 'other'")
    ]


def test_answers_against_an_item_without_the_input() -> None:
    data = {"text": None, "responses": None}
    ranked = validate_answers(SCHEMA, data=data, answers={"marks": []}, partial=True)
    assert ranked == {"marks": []}
    with pytest.raises(Invalid, match="the item has no text in 'text' to mark"):
        validate_answers(
            SCHEMA, data=data, answers={"marks": [{"start": 0, "end": 1, "label": "request"}]}, partial=True
        )
    with pytest.raises(Invalid, match="the item has no responses in 'responses' to rank"):
        validate_answers(SCHEMA, data=data, answers={"order": [["a"]]}, partial=True)


# Properties ------------------------------------------------------------------------------------

IDS = [f"r{i}" for i in range(6)]
RANKED = parse_schema(
    {
        "inputs": [{"name": "responses", "kind": "responses"}],
        "questions": [{"name": "order", "kind": "ranking"}],
    }
)


@st.composite
def rankings(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """A response list and any weak order of it: a permutation cut into non-empty groups."""
    n = draw(st.integers(min_value=2, max_value=len(IDS)))
    ids = IDS[:n]
    perm = draw(st.permutations(ids))
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=n - 1))))
    bounds = [0, *cuts, n]
    return ids, [list(perm[a:b]) for a, b in pairwise(bounds)]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(rankings())
def test_any_weak_order_of_the_responses_is_accepted(case: tuple[list[str], list[list[str]]]) -> None:
    ids, groups = case
    data = {"responses": [{"id": rid, "content": rid} for rid in ids]}
    clean = validate_answers(RANKED, data=data, answers={"order": groups})
    assert [set(group) for group in clean["order"]] == [set(group) for group in groups]
    # Inside a tie, ids come back in stored order, so equal rankings compare equal.
    assert all(group == sorted(group, key=ids.index) for group in clean["order"])


@settings(max_examples=100, deadline=None, derandomize=True)
@given(rankings(), st.data())
def test_a_ranking_missing_or_repeating_an_id_is_rejected(
    case: tuple[list[str], list[list[str]]], data: st.DataObject
) -> None:
    ids, groups = case
    flat = [rid for group in groups for rid in group]
    item = {"responses": [{"id": rid, "content": rid} for rid in ids]}
    drop = data.draw(st.sampled_from(flat))
    dropped = [[rid for rid in group if rid != drop] for group in groups]
    dropped = [group for group in dropped if group] or [[]]
    with pytest.raises(Invalid):
        validate_answers(RANKED, data=item, answers={"order": dropped})
    repeated = [*groups, [data.draw(st.sampled_from(flat))]]
    with pytest.raises(Invalid, match="is ranked twice"):
        validate_answers(RANKED, data=item, answers={"order": repeated})


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.integers(min_value=1, max_value=10), st.integers(min_value=-1000, max_value=1000))
def test_preference_accepts_exactly_the_scale(top: int, value: int) -> None:
    schema = parse_schema(
        {
            "inputs": [{"name": "responses", "kind": "responses"}],
            "questions": [{"name": "p", "kind": "preference", "scale": {"min": -top, "max": top}}],
        }
    )
    if -top <= value <= top:
        assert validate_answers(schema, data={}, answers={"p": value}) == {"p": value}
    else:
        with pytest.raises(Invalid) as info:
            validate_answers(schema, data={}, answers={"p": value})
        assert info.value.message == f"answers.p: {value} is outside the scale {-top}..{top}"


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.text(max_size=40), st.data())
def test_spans_inside_the_text_are_accepted_and_sorted(text: str, data: st.DataObject) -> None:
    schema = parse_schema(
        {
            "inputs": [{"name": "t", "kind": "text"}],
            "questions": [{"name": "s", "kind": "spans", "labels": ["a", "b"]}],
        }
    )
    size = len(text)
    spans = []
    if size:
        for _ in range(data.draw(st.integers(min_value=0, max_value=4))):
            start = data.draw(st.integers(min_value=0, max_value=size - 1))
            end = data.draw(st.integers(min_value=start + 1, max_value=size))
            label = data.draw(st.sampled_from(["a", "b"]))
            if {"start": start, "end": end, "label": label} not in spans:
                spans.append({"start": start, "end": end, "label": label})
    clean = validate_answers(schema, data={"t": text}, answers={"s": spans})
    assert sorted(map(str, clean["s"])) == sorted(map(str, spans))
    assert clean["s"] == sorted(clean["s"], key=lambda s: (s["start"], s["end"], s["label"]))
    beyond = {"start": 0, "end": size + 1, "label": "a"}
    with pytest.raises(Invalid, match=r"answers\.s\[0\]\.(start|end)"):
        validate_answers(schema, data={"t": text}, answers={"s": [beyond]})


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(["rude", "urgent", "spam"]), unique=True, min_size=1))
def test_multi_choice_is_order_insensitive(selected: list[str]) -> None:
    which = {"which": "x"} if {"rude", "spam"} & set(selected) else {}
    forward = check({**GOOD, "tags": selected, **which})["tags"]
    backward = check({**GOOD, "tags": selected[::-1], **which})["tags"]
    assert forward == backward == [o for o in ["rude", "urgent", "spam"] if o in selected]
