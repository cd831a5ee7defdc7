"""Read models for the pages: my work, and a project's dashboard (progress, throughput, agreement)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.storage import progress
from assay.storage import projects as project_store
from assay.storage.people import now
from assay.workflows import access, quality, workforces
from assay.workflows import projects as project_flows


@dataclass(frozen=True)
class WorkRow:
    id: int
    name: str
    description: str
    available: int
    done: int
    leased: int
    counts: dict[str, int]


def my_work(hub: Assay, actor: Actor) -> list[WorkRow]:
    """The projects shared with the actor's workforce, with what is left for them on each: both
    the work left and the project's counts leave out item batches shared with other workforces."""
    projects = project_flows.list_for(hub, actor)
    at = now()
    out = []
    with hub.db.read() as conn:
        for p in projects:
            scope = access.batch_scope(actor, p.raw_settings)
            left = progress.left_for(
                conn,
                org_id=actor.org_id,
                project_id=p.id,
                user_id=actor.user_id,
                at=at,
                only=scope.only,
                hidden=scope.hidden,
            )
            counts = project_store.project_counts(
                conn, org_id=actor.org_id, project_id=p.id, only=scope.only, hidden=scope.hidden
            )
            out.append(WorkRow(p.id, p.name, p.description, counts=counts, **left))
    return out


def _day(value: Any) -> date:
    return value.date() if hasattr(value, "date") else date.fromisoformat(str(value)[:10])


def _item_agreement(rows: list[Any], question: str) -> list[dict[str, Any]]:
    """Per item, the share of (non-rejected) answers that agree with the most common one."""
    by_item: dict[int, list[str]] = defaultdict(list)
    for r in rows:
        if r.review == "reject":
            continue
        value = r.answers.get(question)
        if value is not None:
            by_item[int(r.item_id)].append(repr(value))
    out = []
    for item_id, values in by_item.items():
        if len(values) < 2:
            continue
        top = Counter(values).most_common(1)[0][1]
        out.append({"item_id": item_id, "agreement": top / len(values), "answers": len(values)})
    out.sort(key=lambda r: (r["agreement"], -r["answers"], r["item_id"]))
    return out


def project_dashboard(hub: Assay, actor: Actor, project_id: int) -> dict[str, Any]:
    project = project_flows.get(hub, actor, project_id, action="project.dashboard")
    access.require(
        hub, actor, Role.REVIEWER, action="project.dashboard", object_type="project", object_id=project_id
    )
    batches = access.batch_scope(actor, project.raw_settings)
    with hub.db.read() as conn:
        times = progress.answer_times(conn, org_id=actor.org_id, project_id=project.id)
        per_item = progress.item_answers(conn, org_id=actor.org_id, project_id=project.id)
        counts = project_store.project_counts(
            conn, org_id=actor.org_id, project_id=project.id, only=batches.only, hidden=batches.hidden
        )
    scope = workforces.compartment(hub, actor)
    if scope is not None:
        # A vendor's reviewer sees their own workforce's answers only; item agreement would mix
        # in other vendors' answers, so it is left out for them.
        times = [t for t in times if t.workforce == actor.workforce_name]
        per_item = []
    daily: Counter[date] = Counter(_day(t.created_at) for t in times)
    cumulative: list[tuple[date, int]] = []
    total = 0
    for day in sorted(daily):
        total += daily[day]
        cumulative.append((day, total))
    per_annotator = Counter(t.annotator for t in times)
    per_workforce = Counter(t.workforce or "(none)" for t in times)
    q = quality.project_quality(hub, actor, project_id)
    question = q.get("question")
    lowest = _item_agreement(per_item, question) if question else []
    if not batches.everything and lowest:
        # A reviewer with a workforce is not shown items of batches shared with other workforces.
        shown = set(project_flows.shared_item_ids(hub, actor, [r["item_id"] for r in lowest]))
        lowest = [r for r in lowest if r["item_id"] in shown]
    lowest = lowest[:20]
    return {
        "project": project,
        "counts": counts,
        "progress": cumulative,
        "target": max(counts["items"] - counts["gold"], 0) * project.settings.overlap,
        "per_annotator": per_annotator.most_common(),
        "per_workforce": per_workforce.most_common(),
        "quality": q,
        "lowest": lowest,
    }
