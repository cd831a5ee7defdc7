"""What a quality refresh fitted about each annotator, as adaptive overlap reads it.

Stored in the project's snapshot (``quality_snapshots.workers``) as JSON keyed by the user id's
digits (JSON object keys are strings); everywhere else it is a ``Fit``: user id -> ``WorkerFit``.
``dump`` and ``load`` are the only places that know the stored shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class WorkerFit:
    """One annotator under the project's method: their expected accuracy (the mean posterior of
    the values they gave, over ``answers`` answers), their workforce, and their gold record."""

    expected_accuracy: float
    answers: int
    workforce_id: int | None
    gold_right: int
    gold_seen: int


Fit = dict[int, WorkerFit]


def dump(fit: Fit) -> dict[str, dict[str, Any]]:
    return {str(user): asdict(figures) for user, figures in fit.items()}


def load(raw: Any) -> Fit:
    """The stored figures, or an empty fit (before the first refresh, or from a snapshot an older
    version wrote without some field: the next refresh writes it whole)."""
    if not isinstance(raw, dict):
        return {}
    out: Fit = {}
    for key, figures in raw.items():
        try:
            out[int(key)] = WorkerFit(
                expected_accuracy=float(figures["expected_accuracy"]),
                answers=int(figures["answers"]),
                workforce_id=None if figures.get("workforce_id") is None else int(figures["workforce_id"]),
                gold_right=int(figures.get("gold_right", 0)),
                gold_seen=int(figures.get("gold_seen", 0)),
            )
        except (KeyError, TypeError, ValueError):
            return {}
    return out
