"""DPO and SFT exports: the rows TRL reads, with their provenance."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from format_records import annotation, record

from assay.formats import write_dpo, write_sft

RESPONSES = [
    {"id": "a", "content": "Answer A", "model": "m-1"},
    {"id": "b", "content": "Answer B", "model": "m-2"},
    {"id": "c", "content": "Answer C"},
]
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]


def lines(chunks: Any) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in b"".join(chunks).splitlines()]


def dpo(records: list[dict[str, Any]], *, kind: str = "text") -> list[dict[str, Any]]:
    return lines(
        write_dpo(
            records,
            prompt_input="prompt",
            prompt_kind=kind,
            responses_input="responses",
            preference_questions=["overall"],
            ranking_questions=["order"],
        )
    )


def pref_item(item: str, value: Any) -> dict[str, Any]:
    answers = [annotation(1, {"overall": value}), annotation(2, {"overall": value}), annotation(3, {})]
    return record(
        item,
        {"prompt": "Q?", "responses": RESPONSES[:2]},
        answers,
        {"overall": {"value": value, "confidence": 0.75, "n": 2}},
        external_id=f"x-{item}",
        batch="de" if item == "i1" else None,
    )


def test_dpo_preference_both_signs_and_tie() -> None:
    rows = dpo([pref_item("i1", -2), pref_item("i2", 3), pref_item("i3", 0), pref_item("i4", None)])
    assert len(rows) == 2
    first, second = rows
    assert first == {
        "prompt": "Q?",
        "chosen": "Answer A",
        "rejected": "Answer B",
        "item_id": "i1",
        "external_id": "x-i1",
        "batch": "de",
        "question": "overall",
        "chosen_id": "a",
        "rejected_id": "b",
        "chosen_model": "m-1",
        "rejected_model": "m-2",
        "strength": 2,
        "confidence": 0.75,
        "n_annotations": 2,
        "annotators": ["user1@example.org", "user2@example.org"],
    }
    assert (second["chosen_id"], second["rejected_id"], second["strength"]) == ("b", "a", 3)
    assert second["batch"] is None


def test_dpo_ranking_with_ties() -> None:
    item = record(
        "r1",
        {"prompt": "Q?", "responses": RESPONSES},
        [annotation(1, {"order": [["b"], ["a", "c"]]})],
        {"order": {"value": [["b"], ["a", "c"]], "confidence": 1.0, "n": 1}},
    )
    rows = dpo([item])
    pairs = [(r["chosen_id"], r["rejected_id"], r["strength"]) for r in rows]
    assert pairs == [("b", "a", 1), ("b", "c", 1)]  # a and c are tied: no pair between them
    three = record(
        "r2",
        {"prompt": "Q?", "responses": RESPONSES},
        [],
        {"order": {"value": [["c"], ["a"], ["b"]], "confidence": 0.5, "n": 3}},
    )
    pairs = [(r["chosen_id"], r["rejected_id"], r["strength"]) for r in dpo([three])]
    assert pairs == [("c", "a", 1), ("c", "b", 2), ("a", "b", 1)]
    assert dpo([three])[1]["rejected_model"] == "m-2" and dpo([three])[0]["chosen_model"] is None


def test_dpo_chat_prompt_is_conversational() -> None:
    item = pref_item("c1", 1)
    item["data"]["prompt"] = CHAT
    (row,) = dpo([item], kind="chat")
    assert row["prompt"] == CHAT
    assert row["chosen"] == [{"role": "assistant", "content": "Answer B"}]
    assert row["rejected"] == [{"role": "assistant", "content": "Answer A"}]


def test_dpo_bad_data_names_the_item() -> None:
    item = pref_item("bad", -1)
    item["data"]["responses"] = "not a list"
    with pytest.raises(ValueError, match="item bad: input 'responses' is not a list of responses"):
        dpo([item])


def test_sft_rows_per_written_answer() -> None:
    item = record(
        "s1",
        {"prompt": "Write a haiku"},
        [
            annotation(1, {"draft": "Old pond", "other": "x"}, review="accept"),
            annotation(2, {"draft": "   "}),
            annotation(3, {"draft": None}),
            annotation(4, {"draft": "Frog jumps"}, review="reject"),
        ],
        external_id="e-1",
        batch="hard",
    )
    rows = lines(write_sft([item], prompt_input="prompt", prompt_kind="text", text_questions=["draft"]))
    assert rows == [
        {
            "prompt": "Write a haiku",
            "completion": "Old pond",
            "item_id": "s1",
            "external_id": "e-1",
            "batch": "hard",
            "question": "draft",
            "annotator": "user1@example.org",
            "workforce": "Vendor A",
            "annotation_id": "an-1",
            "created_at": "2024-05-02T10:00:00+00:00",
            "review": "accept",
        },
        {
            "prompt": "Write a haiku",
            "completion": "Frog jumps",
            "item_id": "s1",
            "external_id": "e-1",
            "batch": "hard",
            "question": "draft",
            "annotator": "user4@example.org",
            "workforce": None,
            "annotation_id": "an-4",
            "created_at": "2024-05-05T10:00:00+00:00",
            "review": "reject",
        },
    ]


def test_sft_chat_prompt() -> None:
    item = record("s2", {"chat": CHAT}, [annotation(1, {"draft": "Hello."})])
    (row,) = lines(write_sft([item], prompt_input="chat", prompt_kind="chat", text_questions=["draft"]))
    assert row["prompt"] == CHAT
    assert row["completion"] == [{"role": "assistant", "content": "Hello."}]
