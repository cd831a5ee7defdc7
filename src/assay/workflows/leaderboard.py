"""The model leaderboard of a project (DESIGN §9): battles from its preference, ranking and live
chat answers, fitted by ``assay.quality.leaderboard``.

A battle is read from each answer of record (rejected answers are no battles): a preference between
two responses is a battle of their ``model`` fields (the side the value leans to wins; 0 is a tie),
a ranking is every pair of responses in different groups (two in one group tie), and a chat turn
is its preferred candidate against the other (a ranking of candidates, every pair).  Responses
without a ``model`` and two responses of one model are no battle.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.domain.questions import ChatQuestion, PreferenceQuestion, RankingQuestion
from assay.errors import Invalid, detail
from assay.storage import chat as chat_store
from assay.storage import gates as gate_store
from assay.storage import projects as project_store
from assay.workflows import access, workforces
from assay.workflows import projects as project_flows

Battle = tuple[str, str, float]
CSV_COLUMNS = ("rank", "model", "rating", "low", "high", "battles", "wins", "ties")


def _models(responses: Any) -> dict[str, str]:
    if not isinstance(responses, list):
        return {}
    return {
        str(r.get("id")): str(r["model"])
        for r in responses
        if isinstance(r, Mapping) and isinstance(r.get("model"), str) and r["model"]
    }


def _ranked(groups: Any, model_of: Mapping[Any, str]) -> Iterator[Battle]:
    named = [[model_of[m] for m in group if m in model_of] for group in groups or []]
    for g, group in enumerate(named):
        yield from ((a, b, 0.5) for i, a in enumerate(group) for b in group[i + 1 :])
        yield from ((a, b, 1.0) for a in group for later in named[g + 1 :] for b in later)


def _preference(value: Any, responses: Any) -> Iterator[Battle]:
    if not isinstance(value, int | float) or not isinstance(responses, list) or len(responses) < 2:
        return
    models = [r.get("model") if isinstance(r, Mapping) else None for r in responses[:2]]
    if not all(isinstance(m, str) and m for m in models):
        return
    yield str(models[0]), str(models[1]), 1.0 if value < 0 else 0.0 if value > 0 else 0.5


def _chat(answer: Any, tree: list[dict[str, Any]]) -> Iterator[Battle]:
    turns = {t["turn_id"]: t for t in tree}
    for judged in (answer or {}).get("turns") or []:
        turn = turns.get(judged.get("turn_id"))
        if turn is None:
            continue
        model_of = {c["id"]: c["model"] for c in turn["candidates"]}
        preferred = judged.get("preferred")
        if preferred == "tie":
            yield from _ranked([list(model_of)], model_of)
        elif preferred is not None:
            yield from ((model_of[preferred], model_of[c], 1.0) for c in model_of if c != preferred)
        else:
            yield from _ranked(judged.get("ranking"), model_of)


def battles(hub: Assay, actor: Actor, project: Any, *, question: Any, workforce: str | None) -> list[Battle]:
    """Every battle one question's answers decide (a vendor's reviewer: their workforce's only)."""
    scope = workforces.compartment(hub, actor)
    with hub.db.read() as conn:
        rows = [
            r
            for r in gate_store.project_annotations(
                conn, org_id=actor.org_id, project_id=project.id, workforce_id=scope
            )
            if r.review != "reject"
            and r.answers.get(question.name) is not None
            and (workforce is None or r.workforce == workforce)
        ]
        if isinstance(question, ChatQuestion):
            trees = chat_store.conversations(
                conn, org_id=actor.org_id, assignments={int(r.assignment_id): int(r.item_id) for r in rows}
            )
            data: dict[int, Any] = {}
        else:
            trees = {}
            data = project_store.item_data(conn, org_id=actor.org_id, item_ids=[int(r.item_id) for r in rows])
    out: list[Battle] = []
    for r in rows:
        value = r.answers[question.name]
        if isinstance(question, ChatQuestion):
            out.extend(_chat(value, trees.get(int(r.assignment_id), [])))
        elif isinstance(question, PreferenceQuestion):
            out.extend(_preference(value, (data.get(int(r.item_id)) or {}).get(question.input)))
        else:
            model_of = _models((data.get(int(r.item_id)) or {}).get(question.input))
            out.extend(_ranked(value, model_of))
    return [b for b in out if b[0] != b[1]]


def comparative(project: Any, name: str | None) -> Any:
    """The question the leaderboard is of: ``name``, or the project's first comparative one."""
    kinds = (PreferenceQuestion, RankingQuestion, ChatQuestion)
    found = [q for q in project.schema.questions if isinstance(q, kinds)]
    if name is None:
        if not found:
            raise Invalid("this project has no preference, ranking or chat question to rank models by")
        return found[0]
    for q in found:
        if q.name == name:
            return q
    names = ", ".join(q.name for q in found) or "none"
    msg = f"{name!r} is not a preference, ranking or chat question of this project ({names})"
    raise Invalid(f"question: {msg}", errors=[detail("question", msg, value=name)])


def board(
    hub: Assay, actor: Actor, project_id: int, *, question: str | None = None, workforce: str | None = None
) -> dict[str, Any]:
    from assay.quality.leaderboard import leaderboard

    project = project_flows.get(hub, actor, project_id, action="project.leaderboard")
    access.require(
        hub, actor, Role.REVIEWER, action="project.leaderboard", object_type="project", object_id=project_id
    )
    chosen = comparative(project, question)
    fought = battles(hub, actor, project, question=chosen, workforce=workforce)
    return {
        "project_id": project.id,
        "question": chosen.name,
        "workforce": workforce,
        "battles": len(fought),
        "models": leaderboard(fought, n_boot=200, seed=project.id),
    }


def to_csv(result: Mapping[str, Any]) -> str:
    from assay import formats

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for m in result["models"]:
        # A model name comes from item data: the exports' one rule keeps a spreadsheet from running it.
        writer.writerow(
            [
                m["rank"],
                formats.safe_cell(m["model"]),
                *(round(m[k], 2) for k in ("rating", "low", "high")),
                m["battles"],
                m["wins"],
                m["ties"],
            ]
        )
    return buffer.getvalue()
