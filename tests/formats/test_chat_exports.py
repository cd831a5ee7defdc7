"""The chat exports from records as the export reads them: pairs per judged turn with the
conversation so far, the rewrite in place of the model's answer, ties and rankings."""

from __future__ import annotations

from typing import Any

import orjson

from assay.domain.exports import ExportFilters
from assay.formats.chat import write_chat_dpo, write_chat_sft


def _cand(cid: int, model: str) -> dict[str, Any]:
    return {"id": cid, "model": model, "content": f"text {cid}", "state": "done"}


def _record(turns: list[dict[str, Any]], review: str | None = None) -> dict[str, Any]:
    tree = [
        {
            "turn_id": 1,
            "parent": None,
            "content": "fixed prompt",
            "author": "item",
            "candidates": [_cand(10, "a"), _cand(11, "b")],
        },
        {
            "turn_id": 2,
            "parent": 1,
            "content": "follow up",
            "author": "human",
            "candidates": [_cand(21, "b"), _cand(20, "a"), _cand(22, "a")],
        },
    ]
    annotation = {
        "annotation_id": 7,
        "annotator": "x@example.com",
        "review": review,
        "answers": {"c": {"turns": turns}},
        "conversation": tree,
    }
    return {
        "item_id": 1,
        "external_id": "e",
        "batch": None,
        "data": {"topic": "fixed prompt"},
        "annotations": [annotation],
    }


def _rows(chunks: Any) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in b"".join(chunks).splitlines()]


TURNS = [
    {"turn_id": 1, "preferred": 11, "strength": 3, "rewrite": "a person's answer"},
    {"turn_id": 2, "ranking": [[20], [21, 22]]},
]


def test_dpo_pairs_follow_the_conversation_with_the_rewrite_in_the_next_prompt() -> None:
    rows = _rows(write_chat_dpo([_record(TURNS)], question="c", system="Be kind.", prefix_input="topic"))
    assert [r["turn"] for r in rows] == [1, 2]
    first, second = rows
    assert first["prompt"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "fixed prompt"},
    ]
    assert (first["chosen"][0]["content"], first["rejected"][0]["content"], first["margin"]) == (
        "text 11",
        "text 10",
        3.0,
    )
    assert first["rewrite"] == "a person's answer" and first["chosen_model"] == "b"
    assert second["prompt"][-2:] == [
        {"role": "assistant", "content": "a person's answer"},
        {"role": "user", "content": "follow up"},
    ]
    assert (second["chosen_id"], second["rejected_id"], second["margin"], second["tie"]) == (
        20,
        21,
        1.0,
        False,
    )


def test_ties_are_kept_only_on_request_and_rejected_answers_are_no_rows() -> None:
    tie = [{"turn_id": 1, "preferred": "tie"}]
    assert _rows(write_chat_dpo([_record(tie)], question="c", system=None, prefix_input="topic")) == []
    kept = _rows(
        write_chat_dpo(
            [_record(tie)],
            question="c",
            system=None,
            prefix_input="topic",
            filters=ExportFilters(ties="keep"),
        )
    )
    assert len(kept) == 1 and kept[0]["tie"] is True and kept[0]["margin"] == 0.0
    assert (
        _rows(
            write_chat_dpo([_record(TURNS, review="reject")], question="c", system=None, prefix_input="topic")
        )
        == []
    )


def test_sft_is_the_whole_conversation_with_rewrites_in_place() -> None:
    (row,) = _rows(write_chat_sft([_record(TURNS)], question="c", system=None, prefix_input="topic"))
    assert row["messages"] == [
        {"role": "user", "content": "fixed prompt"},
        {"role": "assistant", "content": "a person's answer"},
        {"role": "user", "content": "follow up"},
        {"role": "assistant", "content": "text 20"},
    ]
    assert row["rewritten"] == [1] and row["turns"] == 2
