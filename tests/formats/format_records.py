"""Export records shaped like the ``jsonl`` export (ids are integers, as there), for the writer tests."""

from __future__ import annotations

from typing import Any


def annotation(n: int, answers: dict[str, Any], *, review: str | None = None) -> dict[str, Any]:
    return {
        "annotation_id": 100 + n,
        "annotator": f"user{n}@example.org",
        "workforce": "Vendor A" if n % 2 else None,
        "assignment_id": 200 + n,
        "answers": answers,
        "duration_ms": 1000 + n,
        "created_at": f"2024-05-0{n % 9 + 1}T10:00:00+00:00",
        "review": review,
    }


def record(
    item: int,
    data: dict[str, Any],
    annotations: list[dict[str, Any]],
    labels: dict[str, Any] | None = None,
    external_id: str | None = None,
    batch: str | None = None,
) -> dict[str, Any]:
    return {
        "item_id": item,
        "external_id": external_id,
        "batch": batch,
        "data": data,
        "annotations": annotations,
        "labels": labels or {},
    }
