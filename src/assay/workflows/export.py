"""Exports: one record per item with its annotations, consensus labels and provenance, streamed.

Records are produced page by page (keyset pagination, one short read transaction per page), so an
export of millions of items holds one page in memory and never blocks writers.  The filters of a
training export (``ExportFilters``) are checked against the format before the first byte.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from pydantic import ConfigDict, Field

from assay import formats
from assay.app import Assay
from assay.domain.exports import REVIEWED, ExportFilters
from assay.domain.people import Actor, Role
from assay.domain.questions import ChatQuestion
from assay.domain.schema import ProjectSchema
from assay.errors import Invalid, detail
from assay.formats._common import votes
from assay.storage import answers as answer_store
from assay.storage import chat as chat_store
from assay.storage import projects as store
from assay.workflows import access, workforces
from assay.workflows import projects as project_flows
from assay.workflows.projects import Project

FORMATS = ("jsonl", "csv", "parquet", "dpo", "sft")
MEDIA_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "dpo": "application/x-ndjson",
    "sft": "application/x-ndjson",
}
EXTENSIONS = {"jsonl": "jsonl", "csv": "csv", "parquet": "parquet", "dpo": "dpo.jsonl", "sft": "sft.jsonl"}
PAGE = 1000


class ExportQuery(ExportFilters):
    """The query string of ``GET /projects/{id}/export``: the format and the filters.

    Closed: an unknown parameter (a misspelt filter) is a 422, never a training set silently
    left unfiltered.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = Field(default="jsonl", description="jsonl, csv, parquet, dpo or sft")

    def filters(self) -> ExportFilters:
        return ExportFilters.model_validate(self.model_dump(exclude={"format"}))


def records(
    hub: Assay, actor: Actor, project: Project, *, page: int = PAGE, reviewed_only: bool = False
) -> Iterator[dict[str, Any]]:
    """Every item of the project with its annotations and labels; ``reviewed_only`` keeps only the
    answers a reviewer accepted or fixed, and the labels come from those alone."""
    kinds = {q.name: q.kind for q in project.schema.questions}
    chat = project.schema.chat_question() is not None
    after = 0
    while True:
        with hub.db.read() as conn:
            rows = store.item_ids_page(
                conn, org_id=actor.org_id, project_id=project.id, after=after, limit=page
            )
            if not rows:
                return
            anns = answer_store.annotations_for_items(
                conn, org_id=actor.org_id, item_ids=[r.id for r in rows]
            )
            trees = (
                chat_store.conversations(
                    conn,
                    org_id=actor.org_id,
                    assignments={int(a.assignment_id): int(a.item_id) for a in anns},
                )
                if chat
                else {}
            )
        by_item: dict[int, list[Any]] = defaultdict(list)
        for a in anns:
            by_item[int(a.item_id)].append(a)
        for row in rows:
            annotations = [annotation_record(a) for a in by_item.get(int(row.id), [])]
            if chat:
                for record in annotations:
                    record["conversation"] = trees.get(record["assignment_id"], [])
            if reviewed_only:
                annotations = [a for a in annotations if a["review"] in REVIEWED]
            voting = votes(annotations)
            labels: dict[str, Any] = {}
            for name, kind in kinds.items():
                values = [a["answers"].get(name) for a in voting if a["answers"].get(name) is not None]
                if values:
                    label = formats.consensus(kind, values)
                    if label is not None:
                        labels[name] = label
            yield {
                "item_id": int(row.id),
                "external_id": row.external_id,
                "batch": row.batch,
                "data": row.data,
                "gold": bool(row.is_gold),
                "annotations": annotations,
                "labels": labels,
            }
        after = int(rows[-1].id)


def stream(
    hub: Assay, actor: Actor, project: Project, *, fmt: str, filters: ExportFilters | None = None
) -> Iterator[bytes]:
    """Check access, the format and the filters up front (so errors come before any byte), then stream."""
    access.require(
        hub, actor, Role.MANAGER, action="project.export", object_type="project", object_id=project.id
    )
    if fmt not in FORMATS:
        raise Invalid(
            f"format={fmt!r} is not an export format; choose one of {', '.join(FORMATS)}",
            errors=[{"loc": "format", "msg": "unknown format", "value": fmt}],
        )
    chosen = filters or ExportFilters()
    chosen.check(fmt)
    schema = project.schema
    recs = records(hub, actor, project, reviewed_only=chosen.reviewed_only)
    data_fields = [i.name for i in schema.inputs]
    questions = {q.name: q.kind for q in schema.questions}
    prompt = schema.prompt_input()
    if fmt == "jsonl":
        return formats.write_jsonl(recs)
    if fmt == "csv":
        return formats.write_csv(recs, data_fields=data_fields, questions=questions)
    if fmt == "parquet":
        return formats.write_parquet(recs, data_fields=data_fields, questions=questions)
    conversation = schema.chat_question()
    if conversation is not None:
        return _chat_export(recs, fmt=fmt, question=conversation, filters=chosen)
    if prompt is None:
        raise Invalid(f"the {fmt} export needs a text, markdown or chat input to use as the prompt")
    texts = [q.name for q in schema.questions if q.kind == "text"]
    if fmt == "dpo":
        responses = schema.responses_input()
        prefs = [q.name for q in schema.questions if q.kind == "preference"]
        ranks = [q.name for q in schema.questions if q.kind == "ranking"]
        if responses is None or not (prefs or ranks):
            raise Invalid("the dpo export needs a responses input and a preference or ranking question")
        return formats.write_dpo(
            recs,
            prompt_input=prompt.name,
            prompt_kind=prompt.kind,
            responses_input=responses.name,
            preference_questions=prefs,
            ranking_questions=ranks,
            rationale_questions=texts,
            filters=chosen,
        )
    completion = schema.completion_question()
    if completion is None:
        raise Invalid(_no_completion(schema), errors=[{"loc": "format", "msg": "no completion question"}])
    return formats.write_sft(
        recs,
        prompt_input=prompt.name,
        prompt_kind=prompt.kind,
        completion_question=completion.name,
        prefill_input=completion.prefill,
        rationale_questions=[t for t in texts if t != completion.name],
        filters=chosen,
    )


def _chat_export(
    recs: Iterator[dict[str, Any]], *, fmt: str, question: ChatQuestion, filters: ExportFilters
) -> Iterator[bytes]:
    """The dpo and sft exports of a live chat project (``assay.formats.chat``)."""
    from assay.formats.chat import write_chat_dpo, write_chat_sft

    # Each pair is one annotator's judgement of one turn: there is no label to be sure of.
    unfit = [name for name in ("min_confidence", "min_answers") if getattr(filters, name) is not None]
    if fmt == "dpo" and unfit:
        msg = "a chat project's pairs are each one annotator's judgement of one turn"
        raise Invalid(f"{unfit[0]} does not apply: {msg}", errors=[detail(unfit[0], msg)])
    writer = write_chat_dpo if fmt == "dpo" else write_chat_sft
    return writer(
        recs, question=question.name, system=question.system, prefix_input=question.input, filters=filters
    )


def _no_completion(schema: ProjectSchema) -> str:
    """Why the sft export has no completion, and how to mark one."""
    texts = [q for q in schema.questions if q.kind == "text"]
    prefilled = [q.name for q in texts if q.prefill is not None]
    how = (
        "mark the text question whose answer is the completion with completion: true in the schema "
        "(the other text answers go into each row's rationales)"
    )
    if len(prefilled) > 1:
        return f"the sft export needs one completion, but {', '.join(prefilled)} are all prefilled; {how}"
    if texts:
        names = ", ".join(q.name for q in texts)
        return (
            f"the sft export needs a completion question, and none of the text questions ({names}) is one; "
            f"{how}, or prefill it from an input to rewrite"
        )
    return f"the sft export needs a completion: add a text question and {how}"


def provenance(a: Any) -> tuple[Any, str]:
    """(the answer of record, how it came to be): ``submitted`` as the annotator sent it, ``revised``
    by the annotator themselves while their lease held, ``fixed`` by a reviewer, or ``imported``
    from a vendor's delivery (``assay import-answers``) and not fixed since."""
    if a.fixed_answers is not None:
        return a.fixed_answers, "fixed"
    if a.revised_answers is not None:
        return a.revised_answers, "revised"
    return a.answers, "imported" if getattr(a, "imported", False) else "submitted"


def annotation_record(a: Any, *, id_key: str = "annotation_id") -> dict[str, Any]:
    """One annotation with its provenance: the answer of record, and the original answer beside it
    when a revision or a reviewer's fix changed it."""
    answers, source = provenance(a)
    record: dict[str, Any] = {
        id_key: int(a.id),
        "annotator": a.annotator,
        "workforce": a.workforce,
        "assignment_id": int(a.assignment_id),
        "answers": answers,
        "duration_ms": a.duration_ms,
        "created_at": a.created_at.isoformat(),
        "review": a.review,
        "provenance": source,
    }
    if source in ("revised", "fixed"):
        record["original_answers"] = a.answers
    if a.client:
        record["client"] = a.client
    return record


def item_detail(hub: Assay, actor: Actor, item_id: int) -> dict[str, Any]:
    """One item with its annotations and batch, for reviewers and managers.  A vendor's reviewer
    reads a gold item exactly like any other (its known answers are for those who may see gold)."""
    row, project = project_flows.visible_item(hub, actor, item_id)
    scope = workforces.compartment(hub, actor)
    trusted = workforces.sees_gold(hub, actor)
    with hub.db.read() as conn:
        anns = answer_store.annotations_for_items(conn, org_id=actor.org_id, item_ids=[item_id])
    if scope is not None:
        anns = [a for a in anns if a.workforce == actor.workforce_name]
    records = [annotation_record(a, id_key="id") for a in anns]
    if project.schema.chat_question() is not None:
        # A reviewer judges a conversation as it was held: each answer carries its whole tree.
        with hub.db.read() as conn:
            trees = chat_store.conversations(
                conn, org_id=actor.org_id, assignments={int(a.assignment_id): item_id for a in anns}
            )
        for record in records:
            record["conversation"] = trees.get(record["assignment_id"], [])
    return {
        "id": int(row.id),
        "project_id": project.id,
        # Only reached by those who may see the item's batch (``visible_item`` is 404 otherwise).
        "batch": row.batch,
        "data": row.data,
        "priority": row.priority,
        # What a lab wrote about its items (external ids, metadata) may name its gold: only those
        # who may see gold read it.
        "external_id": row.external_id if trusted else None,
        "meta": row.meta if trusted else None,
        "gold": row.gold if trusted else None,
        "annotations": records,
    }
