"""Training-set exports: preference pairs for DPO and demonstrations for SFT, as JSONL.

Rows follow the dataset shapes TRL's trainers read.  With a plain-text prompt input, ``prompt``,
``chosen``, ``rejected`` and ``completion`` are strings; with a ``chat`` prompt input they use the
conversational form: ``prompt`` is the list of ``{"role", "content"}`` messages and each answer is
``[{"role": "assistant", "content": ...}]``.  Every row of one export has the same keys, so the
file loads as one table.  Every row carries its provenance (item, question, annotators, the
item's batch) so a training set can be traced back and filtered; the answers to the other
``text`` questions (rationales such as a preference's *why* or a rubric's comment) travel there
as ``rationales: [{"annotator", "question", "text"}]``, never as completions.  Rejected answers
are no votes and no rows.

DPO pairs come from the items' aggregated labels (``consensus``), not from single annotations:

* ``preference``: the label value is negative when ``responses[0]`` (as stored) is preferred,
  positive when ``responses[1]`` is, and 0 for a tie or a split decision (no sign with a strict
  majority of the answers).  ``margin`` is the absolute value (a float: the median of an even
  number of answers may fall between two points).
* ``ranking``: the label is a list of groups of response ids, best first; every pair of responses
  in different groups is a pair (chosen = the better group), ``margin`` = the group gap; two
  responses in one group are a tie.

Every row has ``margin`` (what TRL's reward trainer reads as the margin of a pair),
``confidence`` and ``n_annotations`` of its label, and ``tie``.  Ties are dropped unless the
filters say ``ties="keep"``: a tie row has ``tie: true``, ``margin: 0.0`` and the two responses as
``chosen``/``rejected`` in stored order.  TRL's ``DPOTrainer`` would read a tie row as a pair, so
filter on ``tie`` before training with one.  A tie that most annotators chose has a confidence
above 0.5; a split decision kept as a tie row has at most 0.5.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import combinations
from typing import Any

from assay.domain.exports import ExportFilters
from assay.formats._common import ExportRecord, chunked, dump_line, label_of, votes

__all__ = ["write_dpo", "write_sft"]

# (chosen, rejected, margin, tie)
_Pair = tuple[Mapping[str, Any], Mapping[str, Any], float, bool]


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


def _written(annotation: Mapping[str, Any], question: str) -> str | None:
    """The non-blank text an annotation gave to ``question``, or None."""
    text = (annotation.get("answers") or {}).get(question)
    return text if isinstance(text, str) and text.strip() else None


def _annotators(voters: Sequence[Mapping[str, Any]], question: str) -> list[str]:
    """Emails of the voters who answered ``question`` on this item, first answer first."""
    seen: dict[str, None] = {}
    for annotation in voters:
        if (annotation.get("answers") or {}).get(question) is not None:
            seen.setdefault(str(annotation.get("annotator")), None)
    return list(seen)


def _rationales(voters: Sequence[Mapping[str, Any]], questions: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"annotator": annotation.get("annotator"), "question": question, "text": text}
        for annotation in voters
        for question in questions
        if (text := _written(annotation, question)) is not None
    ]


def _responses(record: ExportRecord, responses_input: str) -> list[Mapping[str, Any]]:
    value = (record.get("data") or {}).get(responses_input)
    if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
        raise ValueError(
            f"item {record.get('item_id')}: input {responses_input!r} is not a list of "
            "responses {id, content}"
        )
    return value


def _pairs(
    record: ExportRecord, kind: str, value: Any, responses: list[Mapping[str, Any]]
) -> Iterator[_Pair]:
    """Every (chosen, rejected, margin, tie) that one question's aggregated label decides."""
    if kind == "preference":
        if len(responses) < 2:
            raise ValueError(f"item {record.get('item_id')}: a preference needs two responses")
        first, second = responses[0], responses[1]
        if value < 0:
            yield first, second, float(-value), False
        elif value > 0:
            yield second, first, float(value), False
        else:
            yield first, second, 0.0, True
        return
    by_id = {str(r.get("id")): r for r in responses}
    groups = [[by_id[str(i)] for i in group if str(i) in by_id] for group in value]
    for better, upper in enumerate(groups):
        for left, right in combinations(upper, 2):
            yield left, right, 0.0, True
        for gap, lower in enumerate(groups[better + 1 :], start=1):
            for chosen in upper:
                for rejected in lower:
                    yield chosen, rejected, float(gap), False


def write_dpo(
    records: Iterable[ExportRecord],
    *,
    prompt_input: str,
    prompt_kind: str,
    responses_input: str,
    preference_questions: Sequence[str],
    ranking_questions: Sequence[str],
    rationale_questions: Sequence[str] = (),
    filters: ExportFilters | None = None,
) -> Iterator[bytes]:
    """The ``dpo`` export: one ``{"prompt", "chosen", "rejected", "margin", ...provenance}`` row per pair.

    ``filters``: ``min_answers`` and ``min_confidence`` hold against the label of the row's
    question; ``ties="keep"`` keeps tie rows (see the module docstring).  ``reviewed_only`` is
    applied by whoever builds the records (the labels must come from reviewed answers alone).
    """
    chosen_filters = filters or ExportFilters()
    keep_ties = chosen_filters.ties == "keep"
    chat = prompt_kind == "chat"
    questions = [(q, "preference") for q in preference_questions] + [
        (q, "ranking") for q in ranking_questions
    ]

    def wanted(label: Mapping[str, Any]) -> bool:
        if label.get("value") is None:
            return False
        if chosen_filters.min_answers is not None and int(label.get("n") or 0) < chosen_filters.min_answers:
            return False
        confidence = float(label.get("confidence") or 0.0)
        return chosen_filters.min_confidence is None or confidence >= chosen_filters.min_confidence

    def lines() -> Iterator[bytes]:
        for record in records:
            prompt = None
            voters = votes(record.get("annotations") or [])
            rationales = None
            for question, kind in questions:
                label = label_of(record, question)
                if label is None or not wanted(label):
                    continue
                responses = _responses(record, responses_input)
                pairs = [p for p in _pairs(record, kind, label["value"], responses) if keep_ties or not p[3]]
                if not pairs:
                    continue
                if prompt is None:
                    prompt = _prompt(record, prompt_input=prompt_input, prompt_kind=prompt_kind)
                    rationales = _rationales(voters, rationale_questions)
                annotators = _annotators(voters, question)
                for chosen, rejected, margin, tie in pairs:
                    yield dump_line(
                        {
                            "prompt": prompt,
                            "chosen": _answer(chosen.get("content"), chat=chat),
                            "rejected": _answer(rejected.get("content"), chat=chat),
                            "margin": margin,
                            "tie": tie,
                            "confidence": float(label.get("confidence") or 0.0),
                            "n_annotations": label.get("n"),
                            "item_id": record.get("item_id"),
                            "external_id": record.get("external_id"),
                            "batch": record.get("batch"),
                            "question": question,
                            "chosen_id": chosen.get("id"),
                            "rejected_id": rejected.get("id"),
                            "chosen_model": chosen.get("model"),
                            "rejected_model": rejected.get("model"),
                            "annotators": annotators,
                            "rationales": rationales,
                        }
                    )

    return chunked(lines())


def write_sft(
    records: Iterable[ExportRecord],
    *,
    prompt_input: str,
    prompt_kind: str,
    completion_question: str,
    prefill_input: str | None = None,
    rationale_questions: Sequence[str] = (),
    filters: ExportFilters | None = None,
) -> Iterator[bytes]:
    """The ``sft`` export: one ``{"prompt", "completion", ...provenance}`` row per written completion.

    Only the answer to ``completion_question`` is a completion; every other text question named in
    ``rationale_questions`` goes into the row's ``rationales``.  A rejected answer is never a row.
    ``filters.min_answers`` keeps an item's rows only when it has at least that many completions.
    When the completion is prefilled from ``prefill_input`` (the rewrite pattern), ``edited`` says
    whether the annotator changed the prefilled text.
    """
    min_answers = (filters or ExportFilters()).min_answers or 1
    chat = prompt_kind == "chat"

    def lines() -> Iterator[bytes]:
        for record in records:
            written = [
                (annotation, text)
                for annotation in votes(record.get("annotations") or [])
                if (text := _written(annotation, completion_question)) is not None
            ]
            if len(written) < min_answers:
                continue
            prompt = _prompt(record, prompt_input=prompt_input, prompt_kind=prompt_kind)
            for annotation, text in written:
                row: dict[str, Any] = {
                    "prompt": prompt,
                    "completion": _answer(text, chat=chat),
                    "item_id": record.get("item_id"),
                    "external_id": record.get("external_id"),
                    "batch": record.get("batch"),
                    "question": completion_question,
                    "annotator": annotation.get("annotator"),
                    "workforce": annotation.get("workforce"),
                    "annotation_id": annotation.get("annotation_id"),
                    "created_at": annotation.get("created_at"),
                    "review": annotation.get("review"),
                    "rationales": _rationales([annotation], rationale_questions),
                }
                if prefill_input is not None:
                    row["edited"] = text != (record.get("data") or {}).get(prefill_input)
                yield dump_line(row)

    return chunked(lines())
