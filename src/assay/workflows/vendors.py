"""The vendor comparison report: workforces side by side on the same items.

For every workforce: gold accuracy with a Wilson interval; agreement with the consensus of the
*other* workforces (leave-one-workforce-out: the project's default aggregator is fitted without the
workforce's own answers, on items that workforce and at least one other answered, so a workforce
never agrees with itself); throughput from ``duration_ms``; and cost per accepted answer from its
cost model.  Every pair of workforces gets Fisher's exact test on the difference of their gold
accuracies (``assay.quality.compare_accuracy``).

An answer is *accepted* when a reviewer accepted or fixed it, or, unreviewed, when it equals the
consensus of all answers; a rejected answer never is.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import defaultdict
from typing import Any

from assay import formats
from assay.app import Assay
from assay.domain.answers import gold_mark
from assay.domain.people import Actor
from assay.storage import answers as answer_store
from assay.storage import chat as chat_store
from assay.storage import gates as gate_store
from assay.workflows import projects as project_flows
from assay.workflows import workforces

ALPHA = 0.05
CSV_COLUMNS = (
    "workforce",
    "kind",
    "answers",
    "shared_items",
    "gold_accuracy",
    "gold_low",
    "gold_high",
    "gold_n",
    "agreement_with_others",
    "agreement_low",
    "agreement_high",
    "agreement_n",
    "answers_per_hour",
    "accepted",
    "cost",
    "cost_per_accepted",
)


def _prop(k: int, n: int) -> dict[str, Any]:
    from assay import quality

    p = quality.proportion(k=k, n=n)
    return {"value": k / n if n else None, "low": p.low, "high": p.high, "n": n}


def _consensus(rows: list[tuple[int, str, Any]], method: str) -> dict[Any, Any]:
    from assay import quality

    if not rows:
        return {}
    return quality.aggregate(quality.Answers.from_rows(rows), method=method).label_map()


def report(hub: Assay, actor: Actor, project_id: int) -> dict[str, Any]:
    from assay import quality

    project = project_flows.get(hub, actor, project_id, action="project.vendors")
    workforces.require_manager_across_vendors(
        hub,
        actor,
        action="project.vendors",
        object_type="project",
        object_id=project_id,
        what=f"the vendor report of project {project_id}",
    )
    found = project.schema.primary()
    out: dict[str, Any] = {
        "ok": True,
        "project_id": project.id,
        "question": found[0] if found else None,
        "method": project.settings.method,
        "shared_items": 0,
        "workforces": [],
        "comparisons": [],
    }
    if found is None:
        return out
    question = found[0]
    with hub.db.read() as conn:
        rows = gate_store.project_annotations(conn, org_id=actor.org_id, project_id=project.id)
        teams = {int(w.id): w for w in gate_store.list_workforces(conn, org_id=actor.org_id)}
        costs = {c.name: c for c in answer_store.workforce_costs(conn, org_id=actor.org_id)}
        # What the models cost in each assignment's live chat: part of that answer's price.
        model_costs = (
            chat_store.cost_by_assignment(conn, org_id=actor.org_id, project_id=project.id)
            if project.schema.chat_question() is not None
            else {}
        )
    rows = [r for r in rows if r.workforce_id is not None and r.answers.get(question) is not None]
    # A rejected answer is no vote: it stays out of every consensus (it still counts as work done).
    normal = [r for r in rows if not r.is_gold and r.review != "reject"]
    by_item: dict[int, set[int]] = defaultdict(set)
    for r in normal:
        by_item[int(r.item_id)].add(int(r.workforce_id))
    shared = {i for i, ws in by_item.items() if len(ws) > 1}
    out["shared_items"] = len(shared)
    # Worker ids are user ids: the aggregator must not pool two people because they share a name.
    votes = [(int(r.item_id), str(r.user_id), repr(r.answers[question])) for r in normal]
    method = project.settings.method
    overall = _consensus([v for v in votes if v[0] in shared] or votes, method)
    cards: dict[int, dict[str, Any]] = {}
    golds: dict[int, Any] = {}
    for wid in sorted({int(r.workforce_id) for r in rows}):
        mine = [r for r in rows if int(r.workforce_id) == wid]
        team = teams.get(wid)
        name = team.name if team is not None else str(wid)
        # Gold is scored on each author's own answer: no reviewer's fix or reject moves it.
        marks = [
            m
            for m in (gold_mark(r.own_answers, r.gold, question) for r in mine if r.is_gold)
            if m is not None
        ]
        gold = quality.proportion(k=sum(marks), n=len(marks))
        golds[wid] = gold
        mine_shared = [r for r in mine if not r.is_gold and int(r.item_id) in shared]
        items_mine = {int(r.item_id) for r in mine_shared}
        others = _consensus(
            [
                (int(r.item_id), str(r.user_id), repr(r.answers[question]))
                for r in normal
                if int(r.workforce_id) != wid and int(r.item_id) in items_mine
            ],
            method,
        )
        agree = [
            repr(r.answers[question]) == others[int(r.item_id)]
            for r in mine_shared
            if int(r.item_id) in others
        ]
        timed = [r.duration_ms for r in mine if r.duration_ms is not None]
        hours = sum(timed) / 3_600_000
        accepted = sum(
            1
            for r in mine
            if r.review in ("accept", "fix")
            or (
                r.review is None
                and not r.is_gold
                and overall.get(int(r.item_id)) == repr(r.answers[question])
            )
            or (r.review is None and r.is_gold and gold_mark(r.own_answers, r.gold, question))
        )
        model = costs.get(name)
        cost: float | None = None
        if model is not None and model.cost_per_answer is not None:
            cost = model.cost_per_answer * len(mine)
        elif model is not None and model.cost_per_hour is not None and timed:
            cost = model.cost_per_hour * hours
        model_cost = sum(model_costs.get(int(r.assignment_id), 0.0) for r in mine)
        if model_cost:
            cost = (cost or 0.0) + model_cost
        cards[wid] = {
            "id": wid,
            "name": name,
            "kind": team.kind if team is not None else None,
            "answers": len(mine),
            "shared_items": len(items_mine),
            "gold_accuracy": _prop(gold.k, gold.n),
            "agreement_with_others": _prop(sum(agree), len(agree)),
            "answers_per_hour": len(timed) / hours if hours > 0 else None,
            "accepted": accepted,
            "cost": cost,
            "model_cost": model_cost if model_costs else None,
            "cost_per_accepted": cost / accepted if cost is not None and accepted else None,
        }
    ranked = sorted(cards.values(), key=lambda c: (-(c["gold_accuracy"]["value"] or -1.0), c["name"]))
    out["workforces"] = ranked
    for a, b in itertools.combinations([c["id"] for c in ranked], 2):
        if golds[a].n and golds[b].n:
            test = quality.compare_accuracy(golds[a], golds[b])
            out["comparisons"].append(
                {
                    "a": cards[a]["name"],
                    "b": cards[b]["name"],
                    "difference": test.difference,
                    "p_value": test.p_value,
                    "significant": test.p_value < ALPHA,
                }
            )
    return out


def to_csv(result: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in result["workforces"]:
        g, a = c["gold_accuracy"], c["agreement_with_others"]
        cells = [
            c["name"], c["kind"], c["answers"], c["shared_items"],
            g["value"], g["low"], g["high"], g["n"],
            a["value"], a["low"], a["high"], a["n"],
            c["answers_per_hour"], c["accepted"], c["cost"], c["cost_per_accepted"],
        ]  # fmt: skip
        # A workforce name is user text: the exports' one rule keeps a spreadsheet from running it.
        cells[0] = formats.safe_cell(cells[0])
        writer.writerow(["" if v is None else v for v in cells])
    return buffer.getvalue()
