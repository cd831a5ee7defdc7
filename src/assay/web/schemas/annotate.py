"""Annotating: the lease of the next item, submissions, skips, lease renewals, revisions."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from assay.domain.schema import Question
from assay.web.schemas._base import Body, Ok, Public, Timestamp


class LeasedItem(Public):
    id: int
    data: dict[str, Any] = Field(description="The item's fields, as imported.")
    display_order: dict[str, list[str]] | None = Field(
        default=None,
        description="Per responses input, the order to show the response ids in (shuffled per "
        "assignment; answers still refer to the stored order).",
    )


class LeasePublic(Public):
    assignment_id: int
    item: LeasedItem
    questions: list[Question]
    expires_at: Timestamp
    server_time: Timestamp = Field(
        description="The server's clock when it answered: the time left is expires_at minus this, "
        "whatever the client's own clock says."
    )
    lease_seconds: int = Field(description="The project's lease length: the time left is never more.")


class Submission(Body):
    answers: dict[str, Any] = Field(description="question name → answer")
    duration_ms: int | None = Field(default=None, ge=0, description="time spent on the item")
    client: dict[str, Any] | None = Field(
        default=None,
        description="what the annotation screen observed, e.g. {'text': {question: {'pastes', 'pasted_chars'}}}",
    )


class AnnotationPublic(Public):
    ok: Ok
    id: int
    assignment_id: int
    item_id: int
    answers: dict[str, Any] = Field(description="The answers as stored (normalised).")
    duration_ms: int | None
    created_at: Timestamp


class Done(Public):
    ok: Ok


class LeaseExtended(Public):
    ok: Ok
    assignment_id: int
    expires_at: Timestamp


class Revision(Body):
    answers: dict[str, Any] = Field(description="the corrected answers (all of them)")


class RevisionPublic(Public):
    ok: Ok
    id: int
    assignment_id: int
    item_id: int
    answers: dict[str, Any] = Field(description="The answer of record from now on.")
    original_answers: dict[str, Any] = Field(description="As first submitted.")
    revised: bool = Field(description="False when the correction changed nothing (nothing was stored).")
    revised_at: Timestamp
