"""Project schemas: every input and question kind, the cross-references, and the error paths."""

# Tables of exact error messages read best one case per line.

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from assay.domain.documents import load_document
from assay.domain.schema import (
    ChatInput,
    ChoiceQuestion,
    Condition,
    MarkdownInput,
    ProjectSchema,
    ResponsesInput,
    SpansQuestion,
    TextInput,
    parse_schema,
)
from assay.errors import Invalid

PAIRWISE: dict[str, Any] = {
    "inputs": [{"name": "prompt", "kind": "text"}, {"name": "responses", "kind": "responses"}],
    "questions": [
        {"name": "overall", "kind": "preference", "scale": {"min": -3, "max": 3}},
        {"name": "helpful", "kind": "rating", "scale": {"min": 1, "max": 7}},
        {"name": "why", "kind": "text", "required": False},
    ],
}
CLASSIFY: dict[str, Any] = {
    "inputs": [{"name": "text", "kind": "text"}],
    "questions": [{"name": "sentiment", "kind": "choice", "options": ["positive", "neutral", "negative"]}],
}
EVERYTHING: dict[str, Any] = {
    "inputs": [
        {"name": "context", "kind": "chat", "label": "Conversation"},
        {"name": "doc", "kind": "markdown", "required": False},
        {"name": "prompt", "kind": "text", "help": "What the user asked"},
        {"name": "answers", "kind": "responses", "max_responses": 4},
    ],
    "questions": [
        {"name": "topic", "kind": "choice", "options": ["a", "b"], "hotkeys": ["1", "2"], "label": "Topic"},
        {"name": "flags", "kind": "multi_choice", "options": ["x", "y", "z"], "required": False},
        {"name": "marks", "kind": "spans", "labels": ["claim"], "input": "prompt"},
        {
            "name": "pref",
            "kind": "preference",
            "scale": {"min": -2, "max": 2},
            "labels": {-2: "A much better", "0": "tie", "2": "B much better"},
        },
        {"name": "order", "kind": "ranking"},
        {
            "name": "score",
            "kind": "rating",
            "scale": {"min": 0, "max": 10},
            "labels": {"0": "bad", "10": "great"},
        },
        {
            "name": "fix",
            "kind": "text",
            "prefill": "prompt",
            "min_length": 1,
            "max_length": 500,
            "show_if": {"question": "topic", "equals": "b"},
            "help": "Rewrite",
        },
        {
            "name": "note",
            "kind": "text",
            "required": False,
            "show_if": {"question": "flags", "in": ["x", "z"]},
        },
        {"name": "low", "kind": "text", "required": False, "show_if": {"question": "score", "in": [0, 1]}},
    ],
}


def problems(obj: Any) -> list[tuple[str, str]]:
    with pytest.raises(Invalid) as info:
        parse_schema(obj)
    assert info.value.status == 422
    return [(e["loc"], e["msg"]) for e in info.value.errors]


def with_question(question: dict[str, Any], *, inputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    schema = copy.deepcopy(PAIRWISE)
    if inputs is not None:
        schema["inputs"] = inputs
    schema["questions"] = [*schema["questions"], question]
    return schema


def test_design_examples_parse() -> None:
    pairwise = parse_schema(PAIRWISE)
    assert [q.kind for q in pairwise.questions] == ["preference", "rating", "text"]
    assert pairwise.question("overall").input == "responses"  # type: ignore[union-attr]
    assert pairwise.question("why").required is False
    classify = parse_schema(CLASSIFY)
    assert isinstance(classify.questions[0], ChoiceQuestion)
    assert classify.questions[0].options == ["positive", "neutral", "negative"]


def test_every_kind_parses() -> None:
    schema = parse_schema(EVERYTHING)
    assert [type(i) for i in schema.inputs] == [ChatInput, MarkdownInput, TextInput, ResponsesInput]
    assert [q.kind for q in schema.questions] == [
        "choice", "multi_choice", "spans", "preference", "ranking", "rating", "text", "text", "text",
    ]  # fmt: skip
    pref = schema.question("pref")
    assert pref.labels == {-2: "A much better", 0: "tie", 2: "B much better"}  # type: ignore[union-attr]
    assert pref.input == "answers"  # type: ignore[union-attr]
    note = schema.question("note")
    assert note.show_if == Condition.model_validate({"question": "flags", "in": ["x", "z"]})
    assert note.show_if is not None and note.show_if.values == ("x", "z")


@pytest.mark.parametrize("doc", [PAIRWISE, CLASSIFY, EVERYTHING])
@pytest.mark.parametrize("exclude_none", [False, True])
def test_model_dump_round_trips(doc: dict[str, Any], exclude_none: bool) -> None:
    schema = parse_schema(doc)
    dumped = schema.model_dump(mode="json", exclude_none=exclude_none)
    again = parse_schema(json.loads(json.dumps(dumped)))
    assert again == schema
    assert again.model_dump(mode="json", exclude_none=exclude_none) == dumped


def test_dump_says_in_not_in_() -> None:
    dumped = parse_schema(EVERYTHING).model_dump(mode="json", exclude_none=True)
    assert dumped["questions"][7]["show_if"] == {"question": "flags", "in": ["x", "z"]}
    assert list(dumped["questions"][0])[:2] == ["kind", "name"]


def test_defaults_are_resolved_into_the_schema() -> None:
    schema = parse_schema(
        {
            "inputs": [{"name": "r", "kind": "responses"}, {"name": "body", "kind": "markdown"}],
            "questions": [
                {"name": "s", "kind": "spans", "labels": ["x"]},
                {"name": "rank", "kind": "ranking"},
            ],
        }
    )
    spans = schema.question("s")
    assert isinstance(spans, SpansQuestion) and spans.input == "body"
    assert schema.question("rank").input == "r"  # type: ignore[union-attr]


def test_helpers() -> None:
    schema = parse_schema(EVERYTHING)
    assert schema.input("doc").kind == "markdown"
    prompt = schema.prompt_input()
    assert prompt is not None and prompt.name == "context"
    responses = schema.responses_input()
    assert responses is not None and responses.name == "answers" and responses.max_responses == 4
    with pytest.raises(KeyError):
        schema.question("nope")
    with pytest.raises(KeyError):
        schema.input("nope")
    only_text = parse_schema(CLASSIFY)
    assert only_text.responses_input() is None
    only_responses = parse_schema(
        {"inputs": [{"name": "r", "kind": "responses"}], "questions": [{"name": "o", "kind": "ranking"}]}
    )
    assert only_responses.prompt_input() is None


def test_design_demo_documents_parse() -> None:
    demo = Path(__file__).resolve().parents[2] / "src" / "assay" / "demo"
    found = sorted(demo.glob("*.yaml"))
    assert found, "the demo projects are the project's own schema examples"
    for path in found:
        doc = load_document(path.read_text(encoding="utf-8"), source=path.name)
        parse_schema(doc["schema"])


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (None, [("", "a schema is an object with 'inputs' and 'questions', got nothing")]),
        ([], [("", "a schema is an object with 'inputs' and 'questions', got list")]),
        ({}, [("inputs", "is required"), ("questions", "is required")]),
        (
            {"inputs": [], "questions": []},
            [("inputs", "needs at least 1 entry"), ("questions", "needs at least 1 entry")],
        ),
        (
            {**CLASSIFY, "qestions": []},
            [("qestions", "unknown field 'qestions'; did you mean 'questions'?")],
        ),
    ],
)
def test_top_level_problems(obj: Any, expected: list[tuple[str, str]]) -> None:
    assert problems(obj) == expected


@pytest.mark.parametrize(
    ("inp", "expected"),
    [
        ({"name": "x"}, ("inputs[1].kind", "is required: one of text, markdown, chat, responses")),
        ({"name": "x", "kind": "image"}, ("inputs[1]", "unknown kind 'image'; choose one of text, markdown, chat, responses")),
        ({"kind": "chat"}, ("inputs[1].name", "is required")),
        ({"name": "bad name", "kind": "text"}, ("inputs[1].name", "'bad name' is not a valid name: use 1 to 64 letters, digits or _, not starting with a digit (e.g. overall_quality)")),
        ({"name": "x", "kind": "text", "requred": False}, ("inputs[1].requred", "unknown field 'requred'; did you mean 'required'?")),
        ({"name": "x", "kind": "text", "required": "no"}, ("inputs[1].required", "Input should be a valid boolean, got str 'no'")),
        ({"name": "x", "kind": "responses", "max_responses": 21}, ("inputs[1].max_responses", "21 is not allowed: must be at most 20")),
        ({"name": "x", "kind": "responses", "max_responses": 1}, ("inputs[1].max_responses", "1 is not allowed: must be at least 2")),
        ({"name": "text", "kind": "markdown"}, ("inputs[1].name", "duplicate input name 'text'")),
    ],
)  # fmt: skip
def test_input_problems(inp: dict[str, Any], expected: tuple[str, str]) -> None:
    doc = copy.deepcopy(CLASSIFY)
    doc["inputs"].append(inp)
    assert problems(doc) == [expected]


Q = "questions[3]"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ({"name": "q"}, [(f"{Q}.kind", "is required: one of choice, multi_choice, spans, preference, ranking, rating, text, chat")]),
        ({"name": "q", "kind": "chioce"}, [(Q, "unknown kind 'chioce'; choose one of choice, multi_choice, spans, preference, ranking, rating, text, chat")]),
        ({"name": "9q", "kind": "ranking"}, [(f"{Q}.name", "'9q' is not a valid name: use 1 to 64 letters, digits or _, not starting with a digit (e.g. overall_quality)")]),
        ({"name": "overall", "kind": "ranking"}, [(f"{Q}.name", "duplicate question name 'overall'")]),
        ({"name": "q", "kind": "ranking", "hepl": "x"}, [(f"{Q}.hepl", "unknown field 'hepl'; did you mean 'help'?")]),
        # choice / multi_choice
        ({"name": "q", "kind": "choice"}, [(f"{Q}.options", "is required")]),
        ({"name": "q", "kind": "choice", "options": ["only"]}, [(f"{Q}.options", "a choice needs at least 2 options")]),
        ({"name": "q", "kind": "choice", "options": ["a", "a"]}, [(f"{Q}.options", "'a' is listed twice; each entry must be unique")]),
        ({"name": "q", "kind": "choice", "options": ["a", " "]}, [(f"{Q}.options[1]", "must not be empty")]),
        ({"name": "q", "kind": "choice", "options": [True, "no"]}, [(f"{Q}.options[0]", "Input should be a valid string, got True (in YAML, put yes/no/on/off in quotes)")]),
        ({"name": "q", "kind": "choice", "options": ["a", "b"], "hotkeys": ["1"]}, [(f"{Q}.hotkeys", "give one hotkey per option (2), got 1")]),
        ({"name": "q", "kind": "choice", "options": ["a", "b"], "hotkeys": ["a", "A"]}, [(f"{Q}.hotkeys", "hotkey 'A' is used twice")]),
        ({"name": "q", "kind": "choice", "options": ["a", "b"], "hotkeys": ["ab", "c"]}, [(f"{Q}.hotkeys", "hotkey 'ab' must be a single visible character, e.g. '1' or 'a'")]),
        ({"name": "q", "kind": "multi_choice", "options": []}, [(f"{Q}.options", "needs at least 1 entry")]),
        # spans
        ({"name": "q", "kind": "spans", "labels": []}, [(f"{Q}.labels", "needs at least 1 entry")]),
        ({"name": "q", "kind": "spans", "labels": ["x"], "input": "responses"}, [(f"{Q}.input", "input 'responses' is responses; this needs a text or markdown input")]),
        ({"name": "q", "kind": "spans", "labels": ["x"], "input": "nope"}, [(f"{Q}.input", "'nope' is not an input (inputs: prompt, responses)")]),
        # preference
        ({"name": "q", "kind": "preference"}, [(f"{Q}.scale", "is required")]),
        ({"name": "q", "kind": "preference", "scale": {"min": -3, "max": 2}}, [(f"{Q}.scale.max", "a preference scale is symmetric around 0 (a tie): with max 2, min must be -2")]),
        ({"name": "q", "kind": "preference", "scale": {"min": 0, "max": 0}}, [(f"{Q}.scale.max", "0 is not allowed: must be at least 1")]),
        ({"name": "q", "kind": "preference", "scale": {"min": -1, "max": 1.5}}, [(f"{Q}.scale.max", "Input should be a valid integer, got float 1.5")]),
        ({"name": "q", "kind": "preference", "scale": {"min": -1, "max": "1"}}, [(f"{Q}.scale.max", "Input should be a valid integer, got str '1'")]),
        ({"name": "q", "kind": "preference", "scale": {"min": -1, "max": 1}, "labels": {"2": "x"}}, [(f"{Q}.labels", "label for 2 is outside the scale -1..1")]),
        ({"name": "q", "kind": "preference", "scale": {"min": -1, "max": 1}, "labels": {"one": "x"}}, [(f"{Q}.labels", "label key 'one' is not a point of the scale (an integer such as -3 or 5)")]),
        ({"name": "q", "kind": "preference", "scale": {"min": -1, "max": 1}, "input": "prompt"}, [(f"{Q}.input", "input 'prompt' is text; this needs a responses input")]),
        ({"name": "q", "kind": "preference", "scale": {"min": -1, "max": 1}, "criteria": ["x"]}, [(f"{Q}.criteria", "unknown field 'criteria'")]),
        # ranking
        ({"name": "q", "kind": "ranking", "input": "prompt"}, [(f"{Q}.input", "input 'prompt' is text; this needs a responses input")]),
        # rating
        ({"name": "q", "kind": "rating", "scale": {"min": 5, "max": 5}}, [(f"{Q}.scale.max", "max must be greater than min (5)")]),
        ({"name": "q", "kind": "rating", "scale": {"max": 5}}, [(f"{Q}.scale.min", "is required")]),
        ({"name": "q", "kind": "rating", "scale": {"min": 1, "max": 5, "step": 1}}, [(f"{Q}.scale.step", "unknown field 'step'")]),
        ({"name": "q", "kind": "rating", "scale": {"min": 1, "max": 5}, "labels": {"0": "x"}}, [(f"{Q}.labels", "label for 0 is outside the scale 1..5")]),
        # text
        ({"name": "q", "kind": "text", "prefill": "responses"}, [(f"{Q}.prefill", "input 'responses' is responses; this needs a text or markdown input")]),
        ({"name": "q", "kind": "text", "min_length": 10, "max_length": 5}, [(f"{Q}.max_length", "max_length must be at least min_length (10)")]),
        ({"name": "q", "kind": "text", "min_length": -1}, [(f"{Q}.min_length", "-1 is not allowed: must be at least 0")]),
        # show_if
        ({"name": "q", "kind": "text", "show_if": {"question": "later"}}, [(f"{Q}.show_if", "give exactly one of 'equals' (a value) or 'in' (a list of values)")]),
        ({"name": "q", "kind": "text", "show_if": {"question": "overall", "equals": 1, "in": [2]}}, [(f"{Q}.show_if", "give exactly one of 'equals' (a value) or 'in' (a list of values)")]),
        ({"name": "q", "kind": "text", "show_if": {"question": "overall", "in": []}}, [(f"{Q}.show_if.in", "needs at least 1 entry")]),
        ({"name": "q", "kind": "text", "show_if": {"question": "nope", "equals": 1}}, [(f"{Q}.show_if.question", "'nope' is not a question; show_if must refer to an earlier question")]),
        ({"name": "q", "kind": "text", "show_if": {"question": "q", "equals": "x"}}, [(f"{Q}.show_if.question", "'q' comes later; show_if must refer to an earlier question")]),
        ({"name": "q", "kind": "text", "show_if": {"question": "overall", "equals": 4}}, [(f"{Q}.show_if.equals", "4 is not a point of 'overall''s scale -3..3")]),
        ({"name": "q", "kind": "text", "show_if": {"question": "helpful", "in": [1, True]}}, [(f"{Q}.show_if.in", "True is not a point of 'helpful''s scale 1..7")]),
        ({"name": "q", "kind": "text", "show_if": {"question": "why", "equals": 3}}, [(f"{Q}.show_if.equals", "3 can never be the answer to the text question 'why'")]),
        ({"name": "q", "kind": "text", "show_if": {"question": "overall", "equal": 1}}, [(f"{Q}.show_if.equal", "unknown field 'equal'; did you mean 'equals'?")]),
    ],
)  # fmt: skip
def test_question_problems(question: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert problems(with_question(question)) == expected


def test_show_if_cannot_test_lists_of_structures() -> None:
    doc = with_question({"name": "r", "kind": "ranking"})
    doc["questions"].append({"name": "q", "kind": "text", "show_if": {"question": "r", "equals": "a"}})
    assert problems(doc) == [
        ("questions[4].show_if.question", "show_if cannot test a ranking question ('r')")
    ]


def test_show_if_choice_value_must_be_an_option() -> None:
    doc = copy.deepcopy(CLASSIFY)
    doc["questions"].append(
        {"name": "q", "kind": "text", "show_if": {"question": "sentiment", "equals": "angry"}}
    )
    assert problems(doc) == [
        (
            "questions[1].show_if.equals",
            "'angry' is not an option of 'sentiment' (positive, neutral, negative)",
        )
    ]


def test_missing_input_kinds_are_named() -> None:
    only_text = [{"name": "t", "kind": "text"}]
    assert problems(with_question({"name": "r", "kind": "ranking"}, inputs=only_text))[0] == (
        "questions[0].input",
        "a preference question needs a responses input; add one to inputs",
    )
    only_chat = [{"name": "c", "kind": "chat"}, {"name": "r", "kind": "responses"}]
    assert problems(with_question({"name": "s", "kind": "spans", "labels": ["x"]}, inputs=only_chat)) == [
        ("questions[3].input", "a spans question needs a text or markdown input; add one to inputs")
    ]


def test_every_problem_is_reported_and_the_message_names_the_first() -> None:
    doc = copy.deepcopy(PAIRWISE)
    doc["questions"][0]["scale"]["max"] = 0
    doc["questions"][1]["scale"] = {"min": 3, "max": 2}
    with pytest.raises(Invalid) as info:
        parse_schema(doc)
    assert [e["loc"] for e in info.value.errors] == ["questions[0].scale.max", "questions[1].scale.max"]
    assert info.value.message == (
        "invalid project schema: questions[0].scale.max: 0 is not allowed: must be at least 1 (and 1 more problem)"
    )
    assert info.value.errors[0]["value"] == 0


def test_direct_construction_also_checks_references() -> None:
    with pytest.raises(ValueError, match="comes later"):
        ProjectSchema.model_validate(
            {
                "inputs": [{"name": "t", "kind": "text"}],
                "questions": [
                    {"name": "a", "kind": "text", "show_if": {"question": "b", "equals": "x"}},
                    {"name": "b", "kind": "text"},
                ],
            }
        )


def test_the_method_setting_names_exactly_the_quality_engines_methods() -> None:
    from typing import get_args

    from assay import quality
    from assay.domain.schema import AggregationMethod, parse_settings

    assert set(get_args(AggregationMethod)) == set(quality.METHODS)
    assert parse_settings({}).method == quality.DEFAULT_METHOD
    assert parse_settings({"method": "glad"}).method == "glad"
    with pytest.raises(Invalid) as info:
        parse_settings({"method": "median"})
    assert "method" in str(info.value)
