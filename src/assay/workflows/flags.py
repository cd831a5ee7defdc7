"""Spam and machine-text checks: annotations flagged for a reviewer's look.

An annotation is flagged when
- ``too_fast``: it took under a quarter of the project's median time (and under ``FAST_FLOOR_MS``
  whatever the median), too quick to have read the item;
- ``constant``: its author gives one value to the first categorical question in at least 95% of
  ten or more answers while the crowd does not (the scorecards' rule, per annotator);
- ``pasted``: the annotation screen saw most of a free-text answer arrive by paste
  (``client.text[question].pasted_chars``);
- ``machine_text``: a free-text answer reads like model output (see ``machine_text_signals``).

Flags are hints for review, never verdicts: nothing is rejected automatically.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from typing import Any

from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.storage import gates as gate_store
from assay.workflows import access, gates, workforces
from assay.workflows import projects as project_flows

FAST_SHARE = 0.25
FAST_FLOOR_MS = 2000
CONSTANT_SHARE = 0.95
CONSTANT_MIN = 10
PASTE_SHARE = 0.5
PASTE_MIN_CHARS = 40
MIN_TEXT = 80

# Phrases that chat models write and people answering a form almost never do.
_STOCK = re.compile(
    r"\b(as an ai(?: language model)?|i hope this helps|certainly[!,] here|great question|"
    r"i'd be happy to help|it(?:'s| is) important to note|in conclusion,|delve into|"
    r"let me know if you (?:have|need)|here(?:'s| is) a (?:breakdown|summary))\b",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+\.)\s+\S", re.MULTILINE)
_HEADING = re.compile(r"^\s*#{1,6}\s+\S|\*\*[^*\n]{2,60}\*\*", re.MULTILINE)


def machine_text_signals(text: str) -> list[str]:
    """Reasons an answer looks pasted from a chat model; flag at one stock phrase or two others.

    An offline heuristic on purpose (no model to download or call): stock assistant phrases,
    Markdown structure (headings, bold labels, bullet lists) in what should be a short human note,
    and em-dash density.  It is tuned to be quiet on ordinary short answers.
    """
    if len(text) < MIN_TEXT:
        return []
    signals: list[str] = []
    if _STOCK.search(text):
        signals.append("stock assistant phrase")
    if len(_BULLET.findall(text)) >= 3:
        signals.append("bullet list")
    if _HEADING.search(text):
        signals.append("markdown headings or bold labels")
    if text.count("\u2014") * 400 >= len(text) and text.count("\u2014") >= 2:
        signals.append("em-dash density")
    return signals


def _is_machine(signals: list[str]) -> bool:
    return "stock assistant phrase" in signals or len(signals) >= 2


def _pasted(client: Any, question: str, text: str) -> bool:
    if not isinstance(client, dict) or not isinstance(client.get("text"), dict):
        return False
    seen = client["text"].get(question)
    if not isinstance(seen, dict):
        return False
    chars = seen.get("pasted_chars")
    if isinstance(chars, bool) or not isinstance(chars, int | float):
        return False
    return chars >= PASTE_MIN_CHARS and chars >= PASTE_SHARE * max(len(text), 1)


def project_flags(hub: Assay, actor: Actor, project_id: int) -> dict[str, Any]:
    project = project_flows.get(hub, actor, project_id, action="project.flags")
    access.require(
        hub, actor, Role.REVIEWER, action="project.flags", object_type="project", object_id=project_id
    )
    scope = workforces.compartment(hub, actor)
    with hub.db.read() as conn:
        # The median and the crowd's label shares come from every answer, so that a vendor's
        # reviewer gets the same flags on their own people as a manager would.
        rows = gate_store.project_annotations(conn, org_id=actor.org_id, project_id=project.id)
    texts = [q.name for q in project.schema.questions if q.kind == "text"]
    found = gates.primary(project)
    durations = [r.duration_ms for r in rows if r.duration_ms is not None]
    fast_below = min(FAST_SHARE * statistics.median(durations), FAST_FLOOR_MS) if durations else None
    constant_users: set[int] = set()
    if found is not None:
        question = found[0]
        crowd = Counter(repr(r.answers.get(question)) for r in rows if r.answers.get(question) is not None)
        per_user: dict[int, Counter[str]] = defaultdict(Counter)
        for r in rows:
            if r.answers.get(question) is not None:
                per_user[int(r.user_id)][repr(r.answers[question])] += 1
        crowd_top = max(crowd.values()) / sum(crowd.values()) if crowd else 1.0
        for user, counts in per_user.items():
            n = sum(counts.values())
            if (
                n >= CONSTANT_MIN
                and max(counts.values()) / n >= CONSTANT_SHARE
                and crowd_top < CONSTANT_SHARE
            ):
                constant_users.add(user)
    flagged: list[dict[str, Any]] = []
    for r in rows:
        if scope is not None and r.workforce_id != scope:
            continue
        reasons: list[dict[str, Any]] = []
        if fast_below is not None and r.duration_ms is not None and r.duration_ms < fast_below:
            reasons.append({"flag": "too_fast", "duration_ms": r.duration_ms, "below_ms": round(fast_below)})
        if int(r.user_id) in constant_users:
            reasons.append({"flag": "constant"})
        for name in texts:
            text = r.answers.get(name)
            if not isinstance(text, str) or not text.strip():
                continue
            if _pasted(r.client, name, text):
                reasons.append({"flag": "pasted", "question": name})
            signals = machine_text_signals(text)
            if _is_machine(signals):
                reasons.append({"flag": "machine_text", "question": name, "signals": signals})
        if reasons:
            flagged.append(
                {
                    "annotation_id": int(r.id),
                    "item_id": int(r.item_id),
                    "annotator": r.annotator,
                    "workforce": r.workforce,
                    "review": r.review,
                    "created_at": r.created_at.isoformat(),
                    "flags": reasons,
                }
            )
    return {"ok": True, "project_id": project.id, "count": len(flagged), "annotations": flagged}
