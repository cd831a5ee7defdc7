"""Read models for the pages: my work, and a project's dashboard (progress, throughput, agreement)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.storage import progress
from assay.workflows import access, quality, workforces
from assay.workflows import projects as project_flows


@dataclass(frozen=True)
class WorkRow:
    id: int
    name: str
    description: str
    counts: dict[str, int]  # ``projects.counts``: left, done, leased, and totals for those who see gold

    @property
    def left(self) -> int:
        return self.counts["left"]

    @property
    def done(self) -> int:
        return self.counts["done"]

    @property
    def leased(self) -> int:
        return self.counts["leased"]


def my_work(hub: Assay, actor: Actor) -> list[WorkRow]:
    """The projects shared with the actor's workforce, with what is left for them on each (and the
    totals, for those who may know gold): one definition of the counts, ``projects.counts``."""
    return [
        WorkRow(p.id, p.name, p.description, counts=project_flows.counts(hub, actor, p))
        for p in project_flows.list_for(hub, actor)
    ]


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
    counts = project_flows.counts(hub, actor, project)
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
        # The goal line needs the totals, which only those who may know gold read.
        "target": (
            max(counts["items"] - counts["gold"], 0) * project.settings.overlap if "items" in counts else None
        ),
        "per_annotator": per_annotator.most_common(),
        "per_workforce": per_workforce.most_common(),
        "quality": q,
        "lowest": lowest,
    }
