"""DPO and SFT exports: the rows TRL reads, with their provenance."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from format_records import annotation, record

from assay.domain.exports import ExportFilters
from assay.formats import write_dpo, write_sft

RESPONSES = [
    {"id": "a", "content": "Answer A", "model": "m-1"},
    {"id": "b", "content": "Answer B", "model": "m-2"},
    {"id": "c", "content": "Answer C"},
]
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]


def lines(chunks: Any) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in b"".join(chunks).splitlines()]


def dpo(records: list[dict[str, Any]], *, kind: str = "text", **filters: Any) -> list[dict[str, Any]]:
    return lines(
        write_dpo(
            records,
            prompt_input="prompt",
            prompt_kind=kind,
            responses_input="responses",
            preference_questions=["overall"],
            ranking_questions=["order"],
            rationale_questions=["why"],
            filters=ExportFilters(**filters),
        )
    )


def pref_item(item: int, value: Any, *, confidence: float = 0.75, n: int = 2) -> dict[str, Any]:
    answers = [
        annotation(1, {"overall": value, "why": "A adds the tip twice"}),
        annotation(2, {"overall": value, "why": "  "}),
        annotation(3, {}),
    ]
    return record(
        item,
        {"prompt": "Q?", "responses": RESPONSES[:2]},
        answers,
        {"overall": {"value": value, "confidence": confidence, "n": n}},
        external_id=f"x-{item}",
        batch="de" if item == 1 else None,
    )


def test_dpo_preference_both_signs_and_tie() -> None:
    rows = dpo([pref_item(1, -2), pref_item(2, 3), pref_item(3, 0), pref_item(4, None)])
    assert len(rows) == 2
    first, second = rows
    assert first == {
        "prompt": "Q?",
        "chosen": "Answer A",
        "rejected": "Answer B",
        "margin": 2.0,
        "tie": False,
        "confidence": 0.75,
        "n_annotations": 2,
        "item_id": 1,
        "external_id": "x-1",
        "batch": "de",
        "question": "overall",
        "chosen_id": "a",
        "rejected_id": "b",
        "chosen_model": "m-1",
        "rejected_model": "m-2",
        "annotators": ["user1@example.org", "user2@example.org"],
        "rationales": [{"annotator": "user1@example.org", "question": "why", "text": "A adds the tip twice"}],
    }
    assert (second["chosen_id"], second["rejected_id"], second["margin"]) == ("b", "a", 3.0)
    assert second["batch"] is None


def test_dpo_ties_are_dropped_or_kept_as_tie_rows() -> None:
    items = [pref_item(1, -2), pref_item(2, 0, confidence=1.0, n=3)]
    assert [r["item_id"] for r in dpo(items)] == [1]
    assert [r["item_id"] for r in dpo(items, ties="drop")] == [1]
    kept = dpo(items, ties="keep")
    assert [(r["item_id"], r["tie"], r["margin"]) for r in kept] == [(1, False, 2.0), (2, True, 0.0)]
    tie = kept[1]
    assert (tie["chosen_id"], tie["rejected_id"], tie["confidence"]) == ("a", "b", 1.0)  # stored order
    assert set(tie) == set(kept[0])  # one shape: the file loads as one table


def test_dpo_min_answers_and_min_confidence_hold_against_the_label() -> None:
    items = [
        pref_item(1, -2, n=1, confidence=1.0),
        pref_item(2, 1, n=3, confidence=2 / 3),
        pref_item(3, 2, n=5),
    ]
    assert [r["item_id"] for r in dpo(items, min_answers=3)] == [2, 3]
    assert [r["item_id"] for r in dpo(items, min_confidence=0.7)] == [1, 3]
    assert [r["item_id"] for r in dpo(items, min_answers=2, min_confidence=0.7)] == [3]


def test_dpo_counts_no_rejected_annotator_or_rationale() -> None:
    item = pref_item(1, -2)
    item["annotations"][1]["review"] = "reject"
    item["annotations"][1]["answers"]["why"] = "spam"
    (row,) = dpo([item])
    assert row["annotators"] == ["user1@example.org"]
    assert [r["text"] for r in row["rationales"]] == ["A adds the tip twice"]


def test_dpo_ranking_with_ties() -> None:
    item = record(
        1,
        {"prompt": "Q?", "responses": RESPONSES},
        [annotation(1, {"order": [["b"], ["a", "c"]]})],
        {"order": {"value": [["b"], ["a", "c"]], "confidence": 1.0, "n": 1}},
    )
    rows = dpo([item])
    pairs = [(r["chosen_id"], r["rejected_id"], r["margin"]) for r in rows]
    assert pairs == [("b", "a", 1.0), ("b", "c", 1.0)]  # a and c are tied: no pair between them
    kept = [(r["chosen_id"], r["rejected_id"], r["margin"], r["tie"]) for r in dpo([item], ties="keep")]
    assert kept == [("b", "a", 1.0, False), ("b", "c", 1.0, False), ("a", "c", 0.0, True)]
    three = record(
        2,
        {"prompt": "Q?", "responses": RESPONSES},
        [],
        {"order": {"value": [["c"], ["a"], ["b"]], "confidence": 0.5, "n": 3}},
    )
    pairs = [(r["chosen_id"], r["rejected_id"], r["margin"]) for r in dpo([three])]
    assert pairs == [("c", "a", 1.0), ("c", "b", 2.0), ("a", "b", 1.0)]
    assert dpo([three])[1]["rejected_model"] == "m-2" and dpo([three])[0]["chosen_model"] is None


def test_dpo_chat_prompt_is_conversational() -> None:
    item = pref_item(1, 1)
    item["data"]["prompt"] = CHAT
    (row,) = dpo([item], kind="chat")
    assert row["prompt"] == CHAT
    assert row["chosen"] == [{"role": "assistant", "content": "Answer B"}]
    assert row["rejected"] == [{"role": "assistant", "content": "Answer A"}]


def test_dpo_bad_data_names_the_item() -> None:
    item = pref_item(9, -1)
    item["data"]["responses"] = "not a list"
    with pytest.raises(ValueError, match="item 9: input 'responses' is not a list of responses"):
        dpo([item])


def sft(records: list[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
    options.setdefault("prompt_input", "prompt")
    options.setdefault("prompt_kind", "text")
    options.setdefault("completion_question", "draft")
    return lines(write_sft(records, **options))


def test_sft_rows_are_completions_with_rationales_beside_them() -> None:
    item = record(
        1,
        {"prompt": "Write a haiku"},
        [
            annotation(1, {"draft": "Old pond", "note": "kept it short", "other": "x"}, review="accept"),
            annotation(2, {"draft": "   ", "note": "no idea"}),
            annotation(3, {"draft": None}),
            annotation(4, {"draft": "Frog jumps"}, review="reject"),
            annotation(5, {"draft": "Splash", "note": ""}, review="fix"),
        ],
        external_id="e-1",
        batch="hard",
    )
    rows = sft([item], rationale_questions=["note"])
    assert rows == [
        {
            "prompt": "Write a haiku",
            "completion": "Old pond",
            "item_id": 1,
            "external_id": "e-1",
            "batch": "hard",
            "question": "draft",
            "annotator": "user1@example.org",
            "workforce": "Vendor A",
            "annotation_id": 101,
            "created_at": "2024-05-02T10:00:00+00:00",
            "review": "accept",
            "rationales": [{"annotator": "user1@example.org", "question": "note", "text": "kept it short"}],
        },
        {
            "prompt": "Write a haiku",
            "completion": "Splash",
            "item_id": 1,
            "external_id": "e-1",
            "batch": "hard",
            "question": "draft",
            "annotator": "user5@example.org",
            "workforce": "Vendor A",
            "annotation_id": 105,
            "created_at": "2024-05-06T10:00:00+00:00",
            "review": "fix",
            "rationales": [],
        },
    ]  # the rejected "Frog jumps" is no row, and no note is ever a completion


def test_sft_min_answers_counts_the_items_completions() -> None:
    one = record(1, {"prompt": "p"}, [annotation(1, {"draft": "x"}), annotation(2, {"draft": " "})])
    two = record(2, {"prompt": "p"}, [annotation(1, {"draft": "x"}), annotation(2, {"draft": "y"})])
    assert [r["item_id"] for r in sft([one, two])] == [1, 2, 2]
    assert [r["item_id"] for r in sft([one, two], filters=ExportFilters(min_answers=2))] == [2, 2]


def test_sft_rewrite_says_whether_the_prefill_was_edited() -> None:
    item = record(
        1,
        {"prompt": "p", "response": "The model's text"},
        [annotation(1, {"draft": "The model's text"}), annotation(2, {"draft": "A better text"})],
    )
    rows = sft([item], prefill_input="response")
    assert [(r["completion"], r["edited"]) for r in rows] == [
        ("The model's text", False),
        ("A better text", True),
    ]


def test_sft_chat_prompt() -> None:
    item = record(2, {"chat": CHAT}, [annotation(1, {"draft": "Hello."})])
    (row,) = sft([item], prompt_input="chat", prompt_kind="chat")
    assert row["prompt"] == CHAT
    assert row["completion"] == [{"role": "assistant", "content": "Hello."}]
