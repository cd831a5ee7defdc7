"""Training-set exports: preference pairs for DPO and demonstrations for SFT, as JSONL.

Rows follow the dataset shapes TRL's trainers read.  With a plain-text prompt input, ``prompt``,
``chosen``, ``rejected`` and ``completion`` are strings; with a ``chat`` prompt input they use the
conversational form: ``prompt`` is the list of ``{"role", "content"}`` messages and each answer is
``[{"role": "assistant", "content": ...}]``.  Every row carries its provenance (item, question,
annotators, the item's batch) so a training set can be traced back and filtered.

DPO pairs come from the items' aggregated labels, not from single annotations:

* ``preference``: the label value is negative when ``responses[0]`` (as stored) is preferred,
  positive when ``responses[1]`` is; 0 or no label is a tie and yields no row.  ``strength`` is the
  absolute value.
* ``ranking``: the label is a list of groups of response ids, best first; every pair of responses
  in different groups yields a row (chosen = the better group), ``strength`` = the group gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from assay.formats._common import ExportRecord, annotations_of, chunked, dump_line, label_of

__all__ = ["write_dpo", "write_sft"]


def _prompt(record: ExportRecord, *, prompt_input: str, prompt_kind: str) -> Any:
    value = (record.get("data") or {}).get(prompt_input)
    if prompt_kind == "chat":
        if not isinstance(value, list):
            raise ValueError(
                f"item {record.get('item_id')}: input {prompt_input!r} is not a chat (a list of turns)"
            )
        return [{"role": turn.get("role"), "content": turn.get("content")} for turn in value]
    return value


def _answer(content: Any, *, chat: bool) -> Any:
    return [{"role": "assistant", "content": content}] if chat else content


def _annotators(record: ExportRecord, question: str) -> list[str]:
    """Emails of the annotators who answered ``question`` on this item, first answer first."""
    seen: dict[str, None] = {}
    for annotation in annotations_of(record):
        answers = annotation.get("answers") or {}
        if answers.get(question) is not None:
            seen.setdefault(str(annotation.get("annotator")), None)
    return list(seen)


def _responses(record: ExportRecord, responses_input: str) -> list[Mapping[str, Any]]:
    value = (record.get("data") or {}).get(responses_input)
    if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
        raise ValueError(
            f"item {record.get('item_id')}: input {responses_input!r} is not a list of "
            "responses {id, content}"
        )
    return value


def _pairs(
    record: ExportRecord, question: str, kind: str, responses: list[Mapping[str, Any]]
) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any], float]]:
    """(chosen, rejected, strength) for one question's aggregated label."""
    label = label_of(record, question)
    value = label.get("value") if label else None
    if value is None:
        return
    if kind == "preference":
        if len(responses) < 2:
            raise ValueError(f"item {record.get('item_id')}: a preference needs two responses")
        if value < 0:
            yield responses[0], responses[1], abs(value)
        elif value > 0:
            yield responses[1], responses[0], abs(value)
        return
    by_id = {str(r.get("id")): r for r in responses}
    groups = [[by_id[str(i)] for i in group if str(i) in by_id] for group in value]
    for better, upper in enumerate(groups):
        for gap, lower in enumerate(groups[better + 1 :], start=1):
            for chosen in upper:
                for rejected in lower:
                    yield chosen, rejected, gap


def write_dpo(
    records: Iterable[ExportRecord],
    *,
    prompt_input: str,
    prompt_kind: str,
    responses_input: str,
    preference_questions: Sequence[str],
    ranking_questions: Sequence[str],
) -> Iterator[bytes]:
    """The ``dpo`` export: one ``{"prompt", "chosen", "rejected", ...provenance}`` row per pair."""
    chat = prompt_kind == "chat"
    questions = [(q, "preference") for q in preference_questions] + [
        (q, "ranking") for q in ranking_questions
    ]

    def lines() -> Iterator[bytes]:
        for record in records:
            prompt = None
            for question, kind in questions:
                label = label_of(record, question)
                if not label or label.get("value") is None:
                    continue
                if prompt is None:
                    prompt = _prompt(record, prompt_input=prompt_input, prompt_kind=prompt_kind)
                responses = _responses(record, responses_input)
                annotators = _annotators(record, question)
                for chosen, rejected, strength in _pairs(record, question, kind, responses):
                    yield dump_line(
                        {
                            "prompt": prompt,
                            "chosen": _answer(chosen.get("content"), chat=chat),
                            "rejected": _answer(rejected.get("content"), chat=chat),
                            "item_id": record.get("item_id"),
                            "external_id": record.get("external_id"),
                            "batch": record.get("batch"),
                            "question": question,
                            "chosen_id": chosen.get("id"),
                            "rejected_id": rejected.get("id"),
                            "chosen_model": chosen.get("model"),
                            "rejected_model": rejected.get("model"),
                            "strength": strength,
                            "confidence": label.get("confidence"),
                            "n_annotations": label.get("n"),
                            "annotators": annotators,
                        }
                    )

    return chunked(lines())


def write_sft(
    records: Iterable[ExportRecord], *, prompt_input: str, prompt_kind: str, text_questions: Sequence[str]
) -> Iterator[bytes]:
    """The ``sft`` export: one ``{"prompt", "completion", ...provenance}`` row per written answer.

    Every annotation with a non-blank answer to a ``text`` question is a row, whatever its review;
    the ``review`` field lets a consumer keep only accepted or fixed answers.
    """
    chat = prompt_kind == "chat"

    def lines() -> Iterator[bytes]:
        for record in records:
            prompt = None
            for annotation in annotations_of(record):
                answers = annotation.get("answers") or {}
                for question in text_questions:
                    text = answers.get(question)
                    if not isinstance(text, str) or not text.strip():
                        continue
                    if prompt is None:
                        prompt = _prompt(record, prompt_input=prompt_input, prompt_kind=prompt_kind)
                    yield dump_line(
                        {
                            "prompt": prompt,
                            "completion": _answer(text, chat=chat),
                            "item_id": record.get("item_id"),
                            "external_id": record.get("external_id"),
                            "batch": record.get("batch"),
                            "question": question,
                            "annotator": annotation.get("annotator"),
                            "workforce": annotation.get("workforce"),
                            "annotation_id": annotation.get("annotation_id"),
                            "created_at": annotation.get("created_at"),
                            "review": annotation.get("review"),
                        }
                    )

    return chunked(lines())
