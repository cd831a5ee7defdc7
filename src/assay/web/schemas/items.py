"""Items: the import record, the import result, one item with its annotations, gold promotion."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from assay.domain.items import MAX_BATCH, MAX_EXTERNAL_ID
from assay.web.schemas._base import Body, Ok, Public, Timestamp

INT32 = 2**31 - 1
ExternalId = Annotated[str, Field(min_length=1, max_length=MAX_EXTERNAL_ID)]
BatchName = Annotated[str, Field(min_length=1, max_length=MAX_BATCH)]


class ItemRecord(Body):
    """One item to import: a JSON array element, or one NDJSON line.  In CSV the columns are
    ``data`` fields, except the reserved ``external_id`` and ``priority``.  Checked on import
    (``assay.domain.items.ItemChecker``), which names the record and the field of any problem."""

    model_config = ConfigDict(extra="forbid", title="ItemRecord")

    data: dict[str, Any] = Field(
        description="The item's fields, matching the project's inputs (unknown fields are kept)."
    )
    external_id: ExternalId | int | None = Field(
        default=None,
        description=f"Your id for the item, unique within the project (1 to {MAX_EXTERNAL_ID} characters).",
    )
    priority: int = Field(default=0, ge=-INT32, le=INT32, description="Higher is served first.")
    meta: dict[str, Any] | None = Field(default=None, description="Anything to keep with the item.")
    gold: dict[str, Any] | None = Field(
        default=None, description="Known answers, {question: value}: the item becomes gold."
    )
    batch: BatchName | int | None = Field(
        default=None,
        description="A batch name that `settings.batches` can share with chosen workforces.",
    )


ITEM_COLUMNS = "A header row; columns are `data` fields, except the reserved `external_id` and `priority`."


def import_body(
    record: dict[str, str], *, what: str = "items", name: str = "ItemRecord", columns: str = ITEM_COLUMNS
) -> dict[str, Any]:
    """An import's request body, per content type (the route streams it, so FastAPI does not
    parse it, and it is declared here); ``record`` refers to the record's model (``name``)."""
    return {
        "required": True,
        "description": f"The {what}, all-or-nothing; the `format` parameter overrides the Content-Type.",
        "content": {
            "application/json": {"schema": {"type": "array", "items": record}},
            "application/x-ndjson": {
                "schema": {"type": "string", "description": f"One {name} (a JSON object) per line."}
            },
            "text/csv": {"schema": {"type": "string", "description": columns}},
            "application/vnd.apache.parquet": {
                "schema": {"type": "string", "format": "binary", "description": "Columns as in CSV."}
            },
        },
    }


class ImportResult(Public):
    ok: Ok
    imported: int = Field(description="Items stored (all of the upload, or none).")
    gold: int = Field(description="Of which gold.")
    skipped_duplicates: int = Field(description="Items skipped with `on_duplicate=skip`.")
    duplicates: list[str] = Field(description="The first 100 skipped external ids.")


class AnnotationRecord(Public):
    """One answer with its provenance: the answer of record, and the original beside it when a
    revision by its author or a reviewer's fix changed it."""

    id: int
    annotator: str = Field(
        description="The annotator's email, or for an imported answer the name the vendor gave them."
    )
    workforce: str | None
    assignment_id: int
    answers: dict[str, Any] = Field(description="The answer of record, {question: value}.")
    duration_ms: int | None
    created_at: Timestamp
    review: Literal["accept", "reject", "fix"] | None = Field(description="The latest review verdict.")
    provenance: Literal["submitted", "revised", "fixed", "imported"]
    original_answers: dict[str, Any] | None = Field(
        default=None, description="As first submitted, when a revision or a fix changed it."
    )
    client: dict[str, Any] | None = Field(
        default=None, description="What the annotation screen observed (pastes, timings)."
    )
    conversation: list[dict[str, Any]] | None = Field(
        default=None,
        description="A live chat question's whole tree as this annotator held it: every turn (branches "
        "and the item's shared turn included) with its candidates in the order shown, their provenance "
        "(model, parameters, latency, tokens, cost) and the judgement.",
    )


class ItemDetail(Public):
    """One item with its annotations.  ``external_id``, ``meta`` and ``gold`` are null for those
    who may not see gold (a vendor's reviewer), whatever the item holds."""

    id: int
    project_id: int
    batch: str | None
    data: dict[str, Any]
    priority: int
    external_id: str | None
    meta: dict[str, Any] | None
    gold: dict[str, Any] | None
    annotations: list[AnnotationRecord]


class GoldCreate(Body):
    answers: dict[str, Any] = Field(description="The known answers, {question: value}.")


class GoldPublic(Public):
    ok: Ok
    item_id: int
    project_id: int
    gold: dict[str, Any] = Field(description="The known answers as stored.")
