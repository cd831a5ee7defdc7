"""Answers as the annotator saw them, for the review pages: one view per question kind.

A preference shows the two responses in the order the annotator was shown them (lettered A, B as
on the annotation screen), which one was preferred and how strongly; a ranking lists its places
with those letters; spans are marked in their text; a rewrite of a prefilled text is a word diff
against the original; the rest are their values.  Views are plain dicts of text for
``_item.html``, which escapes everything in them (nothing here is HTML).
"""

from __future__ import annotations

import difflib
import itertools
from collections import Counter
from typing import Any

from assay import patterns
from assay.domain.questions import (
    PreferenceQuestion,
    Question,
    RankingQuestion,
    RatingQuestion,
    SpansQuestion,
    TextQuestion,
)
from assay.domain.schema import ProjectSchema

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SNIPPET = 160  # characters of a response shown beside a preference or ranking
# The annotation screen's words for a preference's strength (static/annotate/questions.js).
STRENGTH = {
    1: ("better",),
    2: ("slightly better", "much better"),
    3: ("slightly better", "better", "much better"),
}
_WORDS = patterns.compile(r"\s+|[^\s]+")
# Word pairs SequenceMatcher may compare (its work grows with the product of the two lengths): an
# answer and its original are untrusted text of any length, and a review page must stay fast.
DIFF_BUDGET = 4_000_000


def strength_word(k: int, top: int) -> str:
    words = STRENGTH.get(top)
    return words[k - 1] if words else f"better by {k} of {top}"


def _snippet(content: Any) -> str:
    text = content if isinstance(content, str) else "" if content is None else str(content)
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1].rstrip() + "…"


def shown_responses(data: dict[str, Any], name: str, order: list[str] | None) -> list[dict[str, Any]]:
    """The responses of input ``name`` as shown: in the assignment's display order, lettered A, B…"""
    stored = (
        [r for r in data.get(name) or [] if isinstance(r, dict)] if isinstance(data.get(name), list) else []
    )
    by_id = {str(r.get("id")): r for r in stored}
    ids = [i for i in (order or []) if i in by_id]
    ids += [i for i in by_id if i not in ids]
    return [
        {"id": rid, "letter": LETTERS[n % 26], "snippet": _snippet(by_id[rid].get("content"))}
        for n, rid in enumerate(ids)
    ]


def _preference(
    q: PreferenceQuestion, value: Any, data: dict[str, Any], order: list[str] | None
) -> dict[str, Any]:
    shown = shown_responses(data, str(q.input), order)
    stored = [str(r.get("id")) for r in data.get(str(q.input)) or [] if isinstance(r, dict)]
    if not isinstance(value, int) or isinstance(value, bool) or len(stored) < 2 or len(shown) < 2:
        return {"kind": "value", "text": str(value)}
    top = q.scale.max
    favoured = stored[0] if value < 0 else stored[1] if value > 0 else None
    letter = {r["id"]: r["letter"] for r in shown}
    if favoured is None:
        summary = "Tie: neither response is better"
    else:
        summary = f"Response {letter[favoured]} {strength_word(abs(value), top)}"
    label = (q.labels or {}).get(value)
    if label:
        summary += f" ({label})"
    # The scale as the annotation screen drew it: from "left much better" to "right much better".
    left, right = shown[0]["id"], shown[1]["id"]
    points = range(-top, top + 1) if left == stored[0] else range(top, -top - 1, -1)
    return {
        "kind": "preference",
        "summary": summary,
        "value": value,
        "strength": abs(value),
        "max": top,
        "responses": [{**r, "preferred": r["id"] == favoured, "tie": favoured is None} for r in shown[:2]],
        "scale": [{"value": p, "chosen": p == value} for p in points],
        "ends": (f"{letter[left]} better", f"{letter[right]} better"),
    }


def _ranking(q: RankingQuestion, value: Any, data: dict[str, Any], order: list[str] | None) -> dict[str, Any]:
    shown = {r["id"]: r for r in shown_responses(data, str(q.input), order)}
    if not isinstance(value, list):
        return {"kind": "value", "text": str(value)}
    places = []
    for place, group in enumerate(value, start=1):
        members = [group] if isinstance(group, str) else group if isinstance(group, list) else []
        places.append(
            {"place": place, "responses": [shown[m] for m in members if isinstance(m, str) and m in shown]}
        )
    return {"kind": "ranking", "places": places}


def span_segments(text: str, spans: list[dict[str, Any]], labels: list[str]) -> list[dict[str, Any]]:
    """``text`` cut at every span boundary (offsets in code points): each piece with its labels."""
    cuts = {0, len(text)}
    good = []
    for s in spans:
        if isinstance(s, dict) and isinstance(s.get("start"), int) and isinstance(s.get("end"), int):
            start, end = max(0, s["start"]), min(len(text), s["end"])
            if start < end:
                good.append((start, end, str(s.get("label"))))
                cuts |= {start, end}
    # One sweep over the boundaries (a span opens at its start, closes at its end): linear in the
    # spans, where testing every span for every piece was quadratic in an answer of many spans.
    opens: dict[int, list[str]] = {}
    closes: dict[int, list[str]] = {}
    for start, end, label in good:
        opens.setdefault(start, []).append(label)
        closes.setdefault(end, []).append(label)
    active: Counter[str] = Counter()
    out = []
    for a, b in itertools.pairwise(sorted(cuts)):
        active.subtract(closes.get(a, ()))
        active.update(opens.get(a, ()))
        on = sorted(label for label, n in active.items() if n > 0)
        index = labels.index(on[0]) % 6 if on and on[0] in labels else 0
        out.append({"text": text[a:b], "labels": on, "mark": index})
    return out


def _spans(q: SpansQuestion, value: Any, data: dict[str, Any]) -> dict[str, Any]:
    text = data.get(str(q.input))
    if not isinstance(text, str) or not isinstance(value, list):
        return {"kind": "value", "text": str(value)}
    listed = [
        f"{s.get('label')}: “{text[s['start'] : s['end']]}”"
        for s in value
        if isinstance(s, dict) and isinstance(s.get("start"), int) and isinstance(s.get("end"), int)
    ]
    return {"kind": "spans", "segments": span_segments(text, value, list(q.labels)), "listed": listed}


def word_diff(before: str, after: str) -> list[dict[str, str]]:
    """A word-level diff: pieces marked ``same``, ``del`` (only in ``before``) or ``ins``.

    The common first and last words are cut off in linear time; what is left between them is
    compared word by word only within ``DIFF_BUDGET`` (else it is shown as one deletion and one
    insertion), so no pair of texts makes the page slow."""
    a, b = _WORDS.findall(before), _WORDS.findall(after)
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    mid_a, mid_b = a[head : len(a) - tail], b[head : len(b) - tail]
    if len(mid_a) * len(mid_b) <= DIFF_BUDGET:
        ops = difflib.SequenceMatcher(a=mid_a, b=mid_b, autojunk=False).get_opcodes()
    else:
        ops = [("replace", 0, len(mid_a), 0, len(mid_b))]
    out: list[dict[str, str]] = []
    if head:
        out.append({"op": "same", "text": "".join(a[:head])})
    last = "".join(a[len(a) - tail :])
    a, b = mid_a, mid_b
    for op, i1, i2, j1, j2 in ops:
        if op == "equal":
            out.append({"op": "same", "text": "".join(a[i1:i2])})
            continue
        if i2 > i1:
            out.append({"op": "del", "text": "".join(a[i1:i2])})
        if j2 > j1:
            out.append({"op": "ins", "text": "".join(b[j1:j2])})
    if tail:
        out.append({"op": "same", "text": last})
    return out


def _text(q: TextQuestion, value: Any, data: dict[str, Any]) -> dict[str, Any]:
    original = data.get(q.prefill) if q.prefill else None
    if isinstance(value, str) and isinstance(original, str):
        diff = word_diff(original, value)
        removed = sum(len(p["text"].split()) for p in diff if p["op"] == "del")
        added = sum(len(p["text"].split()) for p in diff if p["op"] == "ins")
        return {"kind": "diff", "pieces": diff, "removed": removed, "added": added, "against": q.prefill}
    return {"kind": "text", "text": value if isinstance(value, str) else str(value)}


def _plain(q: Question, value: Any) -> dict[str, Any]:
    if isinstance(q, RatingQuestion) and isinstance(value, int):
        label = (q.labels or {}).get(value)
        return {"kind": "value", "text": f"{value} ({label})" if label else str(value)}
    if isinstance(value, list):
        return {"kind": "value", "text": ", ".join(map(str, value)) or "(none)"}
    return {"kind": "value", "text": str(value)}


def present(
    schema: ProjectSchema,
    data: dict[str, Any],
    answers: dict[str, Any],
    display_order: dict[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """One view per answered question, in the schema's order; answers to unknown questions last."""
    order = display_order or {}
    views: list[dict[str, Any]] = []
    for q in schema.questions:
        if q.name not in answers:
            continue
        value = answers[q.name]
        if isinstance(q, PreferenceQuestion):
            view = _preference(q, value, data, order.get(str(q.input)))
        elif isinstance(q, RankingQuestion):
            view = _ranking(q, value, data, order.get(str(q.input)))
        elif isinstance(q, SpansQuestion):
            view = _spans(q, value, data)
        elif isinstance(q, TextQuestion):
            view = _text(q, value, data)
        else:
            view = _plain(q, value)
        views.append({"name": q.name, "label": q.label or q.name, "question": q.kind, **view})
    known = {q.name for q in schema.questions}
    for name, value in answers.items():
        if name not in known:
            views.append(
                {"name": name, "label": name, "question": "unknown", "kind": "value", "text": str(value)}
            )
    return views
