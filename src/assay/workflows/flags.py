"""Spam and machine-text checks: annotations flagged for a reviewer's look.

An annotation is flagged when
- ``too_fast``: it took under a quarter of the project's median time (and under ``FAST_FLOOR_MS``
  whatever the median), too quick to have read the item;
- ``constant``: its author gives one value to the first categorical question in at least 95% of
  ten or more answers while the crowd does not (the scorecards' rule, per annotator);
- ``pasted``: the annotation screen saw most of a free-text answer arrive by paste
  (``client.text[question].pasted_chars``);
- ``machine_text``: a free-text answer reads like model output (see ``machine_text_signals``).

Flags are hints for review, never verdicts: nothing is rejected automatically.  The review queue
puts pending flagged answers first, each with its reasons (``describe`` words them).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from assay import patterns
from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.storage import gates as gate_store
from assay.workflows import access, workforces
from assay.workflows import projects as project_flows
from assay.workflows.projects import Project

FAST_SHARE = 0.25
FAST_FLOOR_MS = 2000
CONSTANT_SHARE = 0.95
CONSTANT_MIN = 10
PASTE_SHARE = 0.5
PASTE_MIN_CHARS = 40
MIN_TEXT = 80

# Phrases that chat models write and people answering a form almost never do.
# RE2 (``assay.patterns``) matches in linear time, and the patterns look for a bullet or a heading
# on its own line ("[ \t]*", never "\s*", which would run across blank lines).
_STOCK = patterns.compile(
    r"(?i)\b(as an ai(?: language model)?|i hope this helps|certainly[!,] here|great question|"
    r"i'd be happy to help|it(?:'s| is) important to note|in conclusion,|delve into|"
    r"let me know if you (?:have|need)|here(?:'s| is) a (?:breakdown|summary))\b"
)
_BULLET = patterns.compile(r"(?m)^[ \t]*(?:[-*•]|\d+\.)[ \t]+\S")
_HEADING = patterns.compile(r"(?m)^[ \t]*#{1,6}[ \t]+\S|\*\*[^*\n]{2,60}\*\*")


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


def _pasted(client: Any, question: str, text: str) -> int | None:
    """How many characters of the answer arrived by paste, when that is most of it."""
    if not isinstance(client, dict) or not isinstance(client.get("text"), dict):
        return None
    seen = client["text"].get(question)
    if not isinstance(seen, dict):
        return None
    chars = seen.get("pasted_chars")
    if isinstance(chars, bool) or not isinstance(chars, int | float):
        return None
    if chars >= PASTE_MIN_CHARS and chars >= PASTE_SHARE * max(len(text), 1):
        return int(chars)
    return None


@dataclass(frozen=True)
class Baseline:
    """What each answer is compared with, computed once from every answer of the project."""

    fast_below: float | None  # duration_ms under which an answer is too fast
    constant: dict[int, float]  # user id -> share of their answers that give their commonest value
    texts: tuple[str, ...]  # the free-text questions


@dataclass(frozen=True)
class Flagged:
    """A flagged annotation: its row (``storage.gates.project_annotations``) and why."""

    row: Any
    reasons: list[dict[str, Any]]


def baseline(project: Project, rows: Sequence[Any]) -> Baseline:
    """The project-wide statistics: the median time, the crowd's label shares, who answers constantly."""
    durations = [r.duration_ms for r in rows if r.duration_ms is not None]
    fast_below = min(FAST_SHARE * statistics.median(durations), FAST_FLOOR_MS) if durations else None
    constant: dict[int, float] = {}
    found = project.schema.primary()
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
            share = max(counts.values()) / n
            if n >= CONSTANT_MIN and share >= CONSTANT_SHARE and crowd_top < CONSTANT_SHARE:
                constant[user] = share
    texts = tuple(q.name for q in project.schema.questions if q.kind == "text")
    return Baseline(fast_below=fast_below, constant=constant, texts=texts)


def reasons(row: Any, base: Baseline) -> list[dict[str, Any]]:
    """Why one annotation is flagged (empty when it is not), with the figures a reviewer needs."""
    found: list[dict[str, Any]] = []
    fast_below = base.fast_below
    if fast_below is not None and row.duration_ms is not None and row.duration_ms < fast_below:
        found.append({"flag": "too_fast", "duration_ms": row.duration_ms, "below_ms": round(fast_below)})
    share = base.constant.get(int(row.user_id))
    if share is not None:
        found.append({"flag": "constant", "share": round(share, 3)})
    for name in base.texts:
        text = row.answers.get(name)
        if not isinstance(text, str) or not text.strip():
            continue
        pasted = _pasted(row.client, name, text)
        if pasted is not None:
            found.append({"flag": "pasted", "question": name, "pasted_chars": pasted})
        signals = machine_text_signals(text)
        if _is_machine(signals):
            found.append({"flag": "machine_text", "question": name, "signals": signals})
    return found


def describe(reason: dict[str, Any]) -> str:
    """One flag as a reviewer reads it: the same sentence on every page that shows it."""
    kind = reason["flag"]
    if kind == "too_fast":
        return (
            f"answered in {reason['duration_ms'] / 1000:.1f} s, "
            f"under the project's {reason['below_ms'] / 1000:.1f} s"
        )
    if kind == "constant":
        return f"gives the same answer to {reason['share']:.0%} of items"
    if kind == "pasted":
        return f"pasted {reason['pasted_chars']} characters into {reason['question']}"
    if kind == "machine_text":
        return f"{reason['question']} reads like model output: {', '.join(reason['signals'])}"
    return str(kind)


def flagged(
    hub: Assay, actor: Actor, project: Project, *, annotation_ids: Collection[int] | None = None
) -> dict[int, Flagged]:
    """The project's flagged annotations the actor may see (all, or those of ``annotation_ids``), by id.

    The statistics come from every answer of the project, so that a vendor's reviewer gets the same
    flags on their own people as a manager would; only the answers are confined to the actor's
    compartment.  The caller has checked that the actor may review the project.
    """
    scope = workforces.compartment(hub, actor)
    with hub.db.read() as conn:
        rows = gate_store.project_annotations(conn, org_id=actor.org_id, project_id=project.id)
    base = baseline(project, rows)
    wanted = None if annotation_ids is None else set(annotation_ids)
    out: dict[int, Flagged] = {}
    for r in rows:
        if (scope is not None and r.workforce_id != scope) or (
            wanted is not None and int(r.id) not in wanted
        ):
            continue
        found = reasons(r, base)
        if found:
            out[int(r.id)] = Flagged(row=r, reasons=found)
    return out


def project_flags(hub: Assay, actor: Actor, project_id: int) -> dict[str, Any]:
    project = project_flows.get(hub, actor, project_id, action="project.flags")
    access.require(
        hub, actor, Role.REVIEWER, action="project.flags", object_type="project", object_id=project_id
    )
    listed = [
        {
            "annotation_id": int(f.row.id),
            "item_id": int(f.row.item_id),
            "annotator": f.row.annotator,
            "workforce": f.row.workforce,
            "review": f.row.review,
            "created_at": f.row.created_at.isoformat(),
            "flags": f.reasons,
        }
        for f in flagged(hub, actor, project).values()
    ]
    return {"ok": True, "project_id": project.id, "count": len(listed), "annotations": listed}
