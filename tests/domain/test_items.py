"""Item records as an import line holds them: shape checks, normalisation and gold (speed: bench/schema_check.py)."""

# Tables of exact error messages read best one case per line.

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest

from assay.domain.schema import CheckedItem, ItemChecker, RecordError, parse_schema

SCHEMA = parse_schema(
    {
        "inputs": [
            {"name": "prompt", "kind": "text"},
            {"name": "context", "kind": "chat", "required": False},
            {"name": "notes", "kind": "markdown", "required": False},
            {"name": "responses", "kind": "responses", "max_responses": 3},
        ],
        "questions": [
            {"name": "order", "kind": "ranking"},
            {"name": "quality", "kind": "rating", "scale": {"min": 1, "max": 5}},
            {"name": "claims", "kind": "spans", "labels": ["claim"], "required": False},
        ],
    }
)
PAIRWISE = parse_schema(
    {
        "inputs": [{"name": "prompt", "kind": "text"}, {"name": "responses", "kind": "responses"}],
        "questions": [{"name": "overall", "kind": "preference", "scale": {"min": -3, "max": 3}}],
    }
)


def responses(n: int = 2) -> list[dict[str, Any]]:
    return [{"id": chr(ord("a") + i), "content": f"answer {i}"} for i in range(n)]


def record(**data: Any) -> dict[str, Any]:
    return {"data": {"prompt": "Say hi", "responses": responses(), **data}}


def error(checker: ItemChecker, rec: Any) -> tuple[str, str]:
    with pytest.raises(RecordError) as info:
        checker.check(rec)
    exc = info.value
    assert isinstance(exc, ValueError)
    assert str(exc) == (f"{exc.field}: {exc.msg}" if exc.field else exc.msg)
    return exc.field, exc.msg


def test_minimal_record() -> None:
    rec = record()
    item = ItemChecker(SCHEMA).check(rec)
    assert item == CheckedItem(rec["data"], None, 0, None, None)
    assert item.data is rec["data"]  # no copy on the hot path


def test_full_record_is_normalised() -> None:
    rec = {
        **record(extra_field={"kept": True}, context=[{"role": "user", "content": "hi"}], notes=None),
        "external_id": 17,
        "priority": -4,
        "meta": {"source": "x"},
        "gold": {
            "quality": 4,
            "claims": [{"start": 2, "end": 4, "label": "claim"}, {"start": 0, "end": 1, "label": "claim"}],
        },
    }
    item = ItemChecker(SCHEMA).check(rec)
    assert item.external_id == "17"
    assert item.priority == -4
    assert item.meta == {"source": "x"}
    assert item.data["extra_field"] == {"kept": True}
    assert item.gold == {
        "quality": 4,
        "claims": [{"start": 0, "end": 1, "label": "claim"}, {"start": 2, "end": 4, "label": "claim"}],
    }


def test_mapping_records_and_null_fields() -> None:
    rec = OrderedDict(data=record()["data"], external_id=None, priority=None, meta=None, gold=None)
    assert ItemChecker(SCHEMA).check(rec) == CheckedItem(rec["data"], None, 0, None, None)


@pytest.mark.parametrize(
    ("rec", "expected"),
    [
        ([1], ("", "an item must be an object with a 'data' object, got list")),
        ({}, ("data", "is required: an object with the item's fields")),
        ({"data": "hi"}, ("data", "must be an object with the item's fields, got str")),
        ({"data": {"responses": responses()}}, ("data.prompt", "is required (a string)")),
        (record(prompt=3), ("data.prompt", "must be a string, got int")),
        (record(notes=["x"]), ("data.notes", "must be a string, got list")),
        ({"data": {"prompt": "p"}}, ("data.responses", "is required")),
        (record(responses="ab"), ("data.responses", "must be a list of 2 to 3 responses {id, content}; got str")),
        (record(responses=responses(1)), ("data.responses", "must be a list of 2 to 3 responses {id, content}; got 1")),
        (record(responses=responses(4)), ("data.responses", "must be a list of 2 to 3 responses {id, content}; got 4")),
        (record(responses=[*responses(), "c"]), ("data.responses[2]", "must be an object {id, content, model?}")),
        (record(responses=[{"id": 1, "content": "x"}, {"id": "b", "content": "y"}]), ("data.responses[0].id", "must be a non-empty string (quote numbers), got 1")),
        (record(responses=[{"id": "a", "content": "x"}, {"id": "a", "content": "y"}]), ("data.responses[1].id", "'a' is used by an earlier response; ids must be unique")),
        (record(responses=[{"id": "a", "content": "x"}, {"id": "b"}]), ("data.responses[1].content", "must be a string, got null")),
        (record(responses=[{"id": "a", "content": "x"}, {"id": "b", "content": "y", "model": 4}]), ("data.responses[1].model", "must be a string, got int")),
        (record(context=[]), ("data.context", "must be a non-empty list of turns {role, content}")),
        (record(context={"role": "user"}), ("data.context", "must be a non-empty list of turns {role, content}")),
        (record(context=["hi"]), ("data.context[0]", "must be an object {role, content}")),
        (record(context=[{"role": "bot", "content": "hi"}]), ("data.context[0].role", "'bot' is not one of user, assistant, system, tool")),
        (record(context=[{"role": "user", "content": ["hi"]}]), ("data.context[0].content", "must be a string, got list")),
        ({**record(), "externalid": "x"}, ("externalid", "unknown field; an item has data, external_id, priority, meta, gold and batch")),
        ({**record(), "external_id": True}, ("external_id", "must be a string or an integer, got bool")),
        ({**record(), "external_id": "  "}, ("external_id", "must be 1 to 200 characters, not blank")),
        ({**record(), "external_id": "x" * 201}, ("external_id", "must be 1 to 200 characters, not blank")),
        ({**record(), "priority": "1"}, ("priority", "must be an integer, got str")),
        ({**record(), "priority": 1.0}, ("priority", "must be an integer, got float")),
        ({**record(), "priority": False}, ("priority", "must be an integer, got bool")),
        ({**record(), "priority": 2**31}, ("priority", "2147483648 is out of range (±2147483647)")),
        ({**record(), "meta": [1]}, ("meta", "must be an object, got list")),
        ({**record(), "gold": [1]}, ("gold", "must be an object of known answers, got list")),
        ({**record(), "gold": {}}, ("gold", "give at least one known answer, or leave gold out")),
        ({**record(), "gold": {"quality": 6}}, ("gold.quality", "6 is outside the scale 1..5")),
        ({**record(), "gold": {"qualty": 3}}, ("gold.qualty", "unknown question; did you mean 'quality'?")),
        ({**record(), "gold": {"order": [["a"], ["c"]]}}, ("gold.order[1]", "'c' is not a response id of this item (a, b)")),
        ({**record(), "gold": {"claims": [{"start": 0, "end": 7, "label": "claim"}]}}, ("gold.claims[0].end", "end 7 must be after start (0) and at most 6")),
    ],
)  # fmt: skip
def test_problems(rec: Any, expected: tuple[str, str]) -> None:
    assert error(ItemChecker(SCHEMA), rec) == expected


def test_preference_inputs_hold_exactly_two_responses() -> None:
    checker = ItemChecker(PAIRWISE)
    checker.check({"data": {"prompt": "p", "responses": responses(2)}})
    assert error(checker, {"data": {"prompt": "p", "responses": responses(3)}}) == (
        "data.responses",
        "must be a list of 2 responses {id, content} (a preference question compares two); got 3",
    )


def test_gold_is_partial_and_respects_show_if() -> None:
    schema = parse_schema(
        {
            "inputs": [{"name": "text", "kind": "text"}],
            "questions": [
                {"name": "sentiment", "kind": "choice", "options": ["pos", "neg"]},
                {"name": "why", "kind": "text", "show_if": {"question": "sentiment", "equals": "neg"}},
            ],
        }
    )
    checker = ItemChecker(schema)
    data = {"text": "meh"}
    assert checker.check({"data": data, "gold": {"sentiment": "pos"}}).gold == {"sentiment": "pos"}
    assert checker.check({"data": data, "gold": {"why": "because"}}).gold == {"why": "because"}
    assert error(checker, {"data": data, "gold": {"sentiment": "pos", "why": "x"}}) == (
        "gold.why",
        "must be left out: the question is asked only when sentiment is 'neg'",
    )
