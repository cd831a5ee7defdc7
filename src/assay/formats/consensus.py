"""Simple consensus labels for exports, used when no model-based aggregation has run.

``consensus(kind=..., values=[...])`` takes every annotator's answer to one question on one item
and returns ``{"value", "confidence", "n"}`` (``n`` = answers counted; ``None`` answers are
ignored), or ``None`` when nothing is left or the kind is not aggregated (``text``).  Ranking
ids come back as strings (response ids are strings in the schema).  Every rule is
deterministic: the same answers in any order give the same label.

=============  ====================================  ==========================================
kind           value                                 confidence
=============  ====================================  ==========================================
choice         most common answer; a tie goes to     share of answers equal to the value
               the smallest sorted JSON encoding
multi_choice   options chosen by a strict majority,  mean over options anyone chose of the
               sorted                                share agreeing with the majority decision
rating         median (the mean of the two middle    share of answers within ±1 of the median
               answers for an even count)
preference     the median, when a strict majority    share of answers with the sign of the
               of the answers share its sign (which  value (a tie has sign 0)
               response, or a tie); otherwise the
               answers are split and the value is 0
               (no response preferred)
ranking        groups of ids by mean rank (tied      mean over id pairs of the share of
               ranks averaged), best first; equal    annotators ordering the pair as the value
               means share a group                   does (counting only those who ranked both)
spans          spans (same start, end, label)        as for multi_choice, over spans
               marked by a strict majority, sorted
text           not aggregated: ``None``
chat           not aggregated: ``None`` (each conversation is its own; see ``assay.quality.chat``)
=============  ====================================  ==========================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import orjson

__all__ = ["KINDS", "consensus"]

KINDS = frozenset({"choice", "multi_choice", "rating", "preference", "ranking", "spans", "text", "chat"})


def _key(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _label(value: Any, confidence: float, n: int) -> dict[str, Any]:
    return {"value": value, "confidence": float(confidence), "n": n}


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _choice(values: list[Any]) -> dict[str, Any]:
    counts = Counter(_key(v) for v in values)
    best_key = min(counts, key=lambda k: (-counts[k], k))
    return _label(orjson.loads(best_key), counts[best_key] / len(values), len(values))


def _majority_sets(sets: list[set[bytes]]) -> tuple[list[bytes], float]:
    """Members chosen by a strict majority, and the mean per-member agreement."""
    n = len(sets)
    counts = Counter(member for chosen in sets for member in chosen)
    if not counts:
        return [], 1.0
    kept = sorted(k for k, c in counts.items() if 2 * c > n)
    agreement = sum(max(c, n - c) / n for c in counts.values()) / len(counts)
    return kept, agreement


def _multi_choice(values: list[Any]) -> dict[str, Any]:
    kept, agreement = _majority_sets([{_key(option) for option in v} for v in values])
    return _label([orjson.loads(k) for k in kept], agreement, len(values))


def _spans(values: list[Any]) -> dict[str, Any]:
    def key(span: Any) -> bytes:
        return _key([span.get("start"), span.get("end"), span.get("label")])

    kept, agreement = _majority_sets([{key(span) for span in v} for v in values])
    spans = [dict(zip(("start", "end", "label"), orjson.loads(k), strict=True)) for k in kept]
    spans.sort(key=lambda s: (s["start"], s["end"], str(s["label"])))
    return _label(spans, agreement, len(values))


def _median(values: list[Any]) -> Any:
    """The median; for an even count the mean of the two middle values (an int when it is whole).

    Not the lower middle value: with one answer of -2 and one of +2 that would be -2, a decision
    for one side that nobody's answers support.
    """
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    total = ordered[middle - 1] + ordered[middle]
    return total // 2 if total % 2 == 0 else total / 2


def _rating(values: list[Any]) -> dict[str, Any]:
    median = _median(values)
    close = sum(1 for v in values if abs(v - median) <= 1)
    return _label(median, close / len(values), len(values))


def _preference(values: list[Any]) -> dict[str, Any]:
    """Sign by strict majority, strength by median (DESIGN §3: sign categorical, strength ordinal).

    When more than half of the answers share a sign, the median has that sign too, so the value
    is the median.  Without such a majority (one -2 and one +2; -3, -1, 0, 2) the answers are
    split: no response was preferred, and the value is 0 like a tie.  A split's confidence is the
    share of tie answers, at most 1/2; a tie that most annotators chose has more.
    """
    signs = Counter(_sign(v) for v in values)
    decided = [s for s, count in signs.items() if 2 * count > len(values)]
    value = _median(values) if decided else 0
    return _label(value, signs[_sign(value)] / len(values), len(values))


def _ranks(groups: Sequence[Sequence[Any]]) -> dict[str, float]:
    """Rank of each id (1 = best), tied ids sharing the mean of the ranks their group covers."""
    ranks: dict[str, float] = {}
    start = 1
    for group in groups:
        members = [str(i) for i in group]
        shared = start + (len(members) - 1) / 2
        for member in members:
            ranks[member] = shared
        start += len(members)
    return ranks


def _ranking(values: list[Any]) -> dict[str, Any]:
    rankings = [_ranks(v) for v in values]
    totals: dict[str, list[float]] = {}
    for ranks in rankings:
        for member, rank in ranks.items():
            totals.setdefault(member, []).append(rank)
    # Rounded so that float noise cannot split a genuine tie.
    means = {member: round(sum(r) / len(r), 9) for member, r in totals.items()}
    groups: list[list[str]] = []
    for member in sorted(means, key=lambda m: (means[m], m)):
        if groups and means[groups[-1][0]] == means[member]:
            groups[-1].append(member)
        else:
            groups.append([member])
    shares = []
    for a, b in combinations(sorted(means), 2):
        relation = _sign(means[a] - means[b])
        judges = [r for r in rankings if a in r and b in r]
        if judges:
            shares.append(sum(1 for r in judges if _sign(r[a] - r[b]) == relation) / len(judges))
    confidence = sum(shares) / len(shares) if shares else 1.0
    return _label(groups, confidence, len(values))


_RULES = {
    "choice": _choice,
    "multi_choice": _multi_choice,
    "rating": _rating,
    "preference": _preference,
    "ranking": _ranking,
    "spans": _spans,
}


def consensus(kind: str, values: list[Any]) -> dict[str, Any] | None:
    """The consensus label of one question's answers, or None (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown question kind {kind!r}; expected one of {', '.join(sorted(KINDS))}")
    answers = [v for v in values if v is not None]
    if kind in ("text", "chat") or not answers:
        return None
    return _RULES[kind](answers)
