"""Training-set exports of a live chat question, as JSONL in TRL's conversational shapes.

Each record's annotations carry their ``conversation`` (the assignment's whole tree, as
``assay.storage.chat.conversations`` reads it) beside the submitted answer, which names the path:
``{"turns": [{"turn_id", "preferred" | "ranking", "strength"?, "rewrite"?, "rating"?}, ...]}``.

* ``dpo``: one row per judged turn of the submitted path: ``prompt`` is the conversation so far
  (the system prompt, the item's fixed turns, every earlier user turn and the answer the
  conversation went on with, a rewrite in place of the model's), ``chosen``/``rejected`` the
  preferred and the other candidate (a ranking: the first of the best group and the first of the
  worst), ``margin`` the strength (a ranking: the number of places between them).  A tie (or a
  ranking of one group) is a ``tie: true`` row with ``margin: 0.0``, dropped unless ``ties=keep``.
  ``rewrite`` holds the human rewrite of the chosen answer, if any (the pair itself compares what
  the models wrote).  Each row is one annotator's judgement: ``n_annotations`` is 1 and
  ``confidence`` null.
* ``sft``: one row per conversation: ``messages`` is the whole submitted path, each turn's answer
  being the rewrite where the annotator wrote one, else the chosen candidate; ``rewritten`` lists
  the turns (1 = the first) whose assistant message a person wrote.

Rejected answers are no rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from assay.domain.exports import ExportFilters
from assay.formats._common import ExportRecord, chunked, dump_line, votes

__all__ = ["write_chat_dpo", "write_chat_sft"]


def _prefix(record: ExportRecord, *, system: str | None, prefix_input: str | None) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    if prefix_input is None:
        return messages
    value = (record.get("data") or {}).get(prefix_input)
    if isinstance(value, str):
        messages.append({"role": "user", "content": value})
    elif isinstance(value, list):
        messages.extend({"role": t.get("role"), "content": t.get("content")} for t in value)
    return messages


def _path(
    annotation: Mapping[str, Any], question: str
) -> Iterator[tuple[int, Mapping[str, Any], Mapping[str, Any]]]:
    """(position, turn, judgement) along the submitted path."""
    answer = (annotation.get("answers") or {}).get(question)
    if not isinstance(answer, Mapping):
        return
    tree = {t["turn_id"]: t for t in annotation.get("conversation") or []}
    for i, judged in enumerate(answer.get("turns") or []):
        turn = tree.get(judged.get("turn_id"))
        if turn is None:  # pragma: no cover - the submit checked the path against the tree
            raise ValueError(
                f"turn {judged.get('turn_id')} of annotation {annotation.get('annotation_id')} is missing"
            )
        yield i + 1, turn, judged


def _best_and_worst(turn: Mapping[str, Any], judged: Mapping[str, Any]) -> tuple[Any, Any, float, bool]:
    """(chosen id, rejected id, margin, tie) of one judged turn."""
    shown = [c["id"] for c in turn["candidates"]]
    preferred = judged.get("preferred")
    if preferred is not None:
        if preferred == "tie":
            return shown[0], shown[1], 0.0, True
        other = next(c for c in shown if c != preferred)
        return preferred, other, float(judged.get("strength") or 1), False
    ranking = judged.get("ranking") or [shown]
    if len(ranking) == 1:
        return ranking[0][0], ranking[0][1], 0.0, True
    return ranking[0][0], ranking[-1][0], float(len(ranking) - 1), False


def _answer_of(turn: Mapping[str, Any], judged: Mapping[str, Any]) -> str:
    """What the conversation went on with after ``turn``: the rewrite, else the best candidate."""
    if judged.get("rewrite") is not None:
        return str(judged["rewrite"])
    best = _best_and_worst(turn, judged)[0]
    return str(next(c["content"] for c in turn["candidates"] if c["id"] == best))


def write_chat_dpo(
    records: Iterable[ExportRecord],
    *,
    question: str,
    system: str | None,
    prefix_input: str | None,
    filters: ExportFilters | None = None,
) -> Iterator[bytes]:
    keep_ties = (filters or ExportFilters()).ties == "keep"

    def lines() -> Iterator[bytes]:
        for record in records:
            for annotation in votes(record.get("annotations") or []):
                messages = _prefix(record, system=system, prefix_input=prefix_input)
                for position, turn, judged in _path(annotation, question):
                    if turn["author"] == "human":
                        messages.append({"role": "user", "content": turn["content"]})
                    chosen, rejected, margin, tie = _best_and_worst(turn, judged)
                    by_id = {c["id"]: c for c in turn["candidates"]}
                    if keep_ties or not tie:
                        yield dump_line(
                            {
                                "prompt": list(messages),
                                "chosen": [{"role": "assistant", "content": by_id[chosen]["content"]}],
                                "rejected": [{"role": "assistant", "content": by_id[rejected]["content"]}],
                                "margin": margin,
                                "tie": tie,
                                "confidence": None,
                                "n_annotations": 1,
                                "item_id": record.get("item_id"),
                                "external_id": record.get("external_id"),
                                "batch": record.get("batch"),
                                "question": question,
                                "turn": position,
                                "turn_id": turn["turn_id"],
                                "chosen_id": chosen,
                                "rejected_id": rejected,
                                "chosen_model": by_id[chosen]["model"],
                                "rejected_model": by_id[rejected]["model"],
                                "rewrite": judged.get("rewrite"),
                                "annotators": [annotation.get("annotator")],
                                "annotation_id": annotation.get("annotation_id"),
                            }
                        )
                    messages.append({"role": "assistant", "content": _answer_of(turn, judged)})

    return chunked(lines())


def write_chat_sft(
    records: Iterable[ExportRecord],
    *,
    question: str,
    system: str | None,
    prefix_input: str | None,
    filters: ExportFilters | None = None,
) -> Iterator[bytes]:
    min_answers = (filters or ExportFilters()).min_answers or 1

    def lines() -> Iterator[bytes]:
        for record in records:
            voters = [
                a
                for a in votes(record.get("annotations") or [])
                if isinstance((a.get("answers") or {}).get(question), Mapping)
            ]
            if len(voters) < min_answers:
                continue
            for annotation in voters:
                messages = _prefix(record, system=system, prefix_input=prefix_input)
                rewritten: list[int] = []
                turns: Sequence[Any] = list(_path(annotation, question))
                for position, turn, judged in turns:
                    if turn["author"] == "human":
                        messages.append({"role": "user", "content": turn["content"]})
                    messages.append({"role": "assistant", "content": _answer_of(turn, judged)})
                    if judged.get("rewrite") is not None:
                        rewritten.append(position)
                yield dump_line(
                    {
                        "messages": messages,
                        "item_id": record.get("item_id"),
                        "external_id": record.get("external_id"),
                        "batch": record.get("batch"),
                        "question": question,
                        "turns": len(turns),
                        "rewritten": rewritten,
                        "annotator": annotation.get("annotator"),
                        "workforce": annotation.get("workforce"),
                        "annotation_id": annotation.get("annotation_id"),
                        "created_at": annotation.get("created_at"),
                        "review": annotation.get("review"),
                    }
                )

    return chunked(lines())
