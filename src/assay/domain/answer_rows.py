"""Check the rows of a delivery of answers (``import-answers``), before any item is looked up.

A row names its item (``item_id`` or ``external_id``), the ``annotator`` by the name the vendor
gives them, optionally the ``workforce`` (else the import's), the ``answers`` (checked later against
the item, by the submit's own ``validate_answers``), ``created_at``, ``duration_ms`` (the submit's
``check_duration``) and a ``key`` that makes a re-import idempotent.  Like ``ItemChecker``, plain
type tests: a delivery may hold millions of rows.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Any, NamedTuple

from assay.domain.answers import DURATION_RULE, check_duration, show
from assay.domain.items import MAX_EXTERNAL_ID, RecordError
from assay.errors import Invalid
from assay.limits import check_name

__all__ = ["ROW_FIELDS", "AnswerRow", "check_row", "tabular"]

ROW_FIELDS = (
    "item_id",
    "external_id",
    "annotator",
    "workforce",
    "answers",
    "created_at",
    "duration_ms",
    "key",
)
MAX_ANNOTATOR = 200  # ``memberships.external_name``
MAX_WORKFORCE = 100  # ``workforces.name``
# Stored as the annotation's idempotency key behind a project prefix (``import/{project}/``), in a
# column of 200 characters.
MAX_KEY = 160
_INT64 = 2**63 - 1
_TABULAR_INTS = ("item_id", "duration_ms")


class AnswerRow(NamedTuple):
    item_id: int | None
    external_id: str | None
    annotator: str
    workforce: str | None
    answers: dict[str, Any]
    created_at: datetime | None
    duration_ms: int | None
    key: str | None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _name(value: Any, field: str, max_len: int) -> str:
    try:
        return check_name(value, where=field, max_len=max_len)
    except Invalid as exc:
        raise RecordError(field, exc.errors[0]["msg"], show(value)) from None


def _created_at(value: Any, at: datetime) -> datetime:
    if not isinstance(value, str):
        raise RecordError("created_at", f"must be an ISO 8601 time string, got {_kind(value)}", show(value))
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(
            "created_at", "is not an ISO 8601 time such as 2026-01-31T12:00:00Z", show(value)
        ) from None
    # A time without an offset is read as UTC (what exports write); one in the future is a mistake.
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if parsed > at:
        raise RecordError("created_at", "is in the future", show(value))
    return parsed


def tabular(record: dict[str, Any]) -> dict[str, Any]:
    """A CSV/Parquet record (``data`` holds every column the item readers do not reserve) as a row;
    the integer columns of CSV come as text and are read as integers when they are digits."""
    data = record.get("data")
    row = {k: v for k, v in record.items() if k != "data"}
    if isinstance(data, dict):
        row.update(data)
    for field in _TABULAR_INTS:
        value = row.get(field)
        if isinstance(value, str) and value.strip().isdigit():
            row[field] = int(value.strip())
    return row


def check_row(record: dict[str, Any], *, at: datetime) -> AnswerRow:
    """The row normalised, or ``RecordError`` naming its first bad field; ``at`` is now."""
    for field in record:
        if field not in ROW_FIELDS:
            guess = difflib.get_close_matches(str(field), ROW_FIELDS, n=1)
            hint = f"did you mean {guess[0]!r}?" if guess else f"the fields are {', '.join(ROW_FIELDS)}"
            raise RecordError(str(field), f"unknown field; {hint}", None)
    item_id = record.get("item_id")
    if item_id is not None and (
        isinstance(item_id, bool) or not isinstance(item_id, int) or not 0 < item_id <= _INT64
    ):
        raise RecordError(
            "item_id", f"must be a positive integer (an assay item id), got {show(item_id)}", show(item_id)
        )
    external_id = record.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)  # as the item import stores it
    if external_id is not None and (
        not isinstance(external_id, str) or not 0 < len(external_id) <= MAX_EXTERNAL_ID
    ):
        raise RecordError(
            "external_id",
            f"must be a string of 1 to {MAX_EXTERNAL_ID} characters, got {show(external_id)}",
            show(external_id),
        )
    if item_id is None and external_id is None:
        raise RecordError("item_id", "is required: name the item by item_id or external_id", None)
    annotator = _name(record.get("annotator"), "annotator", MAX_ANNOTATOR)
    workforce = record.get("workforce")
    if workforce is not None:
        workforce = _name(workforce, "workforce", MAX_WORKFORCE)
    answers = record.get("answers")
    if not isinstance(answers, dict):
        raise RecordError(
            "answers",
            f"must be an object mapping question names to answers, got {_kind(answers)}",
            show(answers),
        )
    created = record.get("created_at")
    created_at = None if created is None else _created_at(created, at)
    duration_ms = record.get("duration_ms")
    if not check_duration(duration_ms):
        raise RecordError("duration_ms", DURATION_RULE, show(duration_ms))
    key = record.get("key")
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)
    if key is not None:
        key = _name(key, "key", MAX_KEY)
    return AnswerRow(item_id, external_id, annotator, workforce, answers, created_at, duration_ms, key)
