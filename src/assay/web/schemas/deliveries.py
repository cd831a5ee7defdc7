"""Answers from outside: one row of a delivery, and what its import did."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from assay.domain.answer_rows import MAX_ANNOTATOR, MAX_KEY, MAX_WORKFORCE
from assay.domain.items import MAX_EXTERNAL_ID
from assay.web.schemas._base import Body, Ok, Public

ANSWER_COLUMNS = (
    "A header row naming the fields of AnswerRecord; `answers` holds JSON text "
    '(`{"sentiment": "positive"}`), the others plain values.'
)


class AnswerRecord(Body):
    """One answer to import: a JSON array element, one NDJSON line, or one CSV/Parquet row.
    Checked on import (``assay.domain.answer_rows``, then the submit's own answer check against the
    item), which names the line and field of any problem."""

    model_config = ConfigDict(extra="forbid", title="AnswerRecord")

    item_id: int | None = Field(default=None, gt=0, description="The assay item id (or give external_id).")
    external_id: Annotated[str, Field(min_length=1, max_length=MAX_EXTERNAL_ID)] | int | None = Field(
        default=None, description="Your id for the item, as imported."
    )
    annotator: str = Field(
        min_length=1,
        max_length=MAX_ANNOTATOR,
        description="The vendor's name for the annotator; mapped to an external member of the workforce, "
        "created on first sight (such a member can never sign in).",
    )
    workforce: str | None = Field(
        default=None, max_length=MAX_WORKFORCE, description="The workforce; default the import's `workforce`."
    )
    answers: dict[str, Any] = Field(description="{question: value}, checked exactly as a submit's answers.")
    created_at: str | None = Field(
        default=None,
        json_schema_extra={"format": "date-time"},
        description="When it was answered (ISO 8601; no offset: UTC); default the import's time.",
    )
    duration_ms: int | None = Field(default=None, ge=0, lt=2**31, description="Time spent, in milliseconds.")
    key: Annotated[str, Field(min_length=1, max_length=MAX_KEY)] | int | None = Field(
        default=None,
        description="The row's key: re-importing a row with a key already imported skips it.  Without "
        "one, the row is known by its item and annotator.",
    )


class AnswersImportResult(Public):
    ok: Ok
    imported: int = Field(description="Answers stored (all the new rows of the upload, or none).")
    skipped: int = Field(description="Rows already imported before (same item, annotator, answers and key).")
    annotators: int = Field(description="Annotators whose answers were stored.")
    annotators_created: int = Field(description="Of which new external members of their workforce.")
