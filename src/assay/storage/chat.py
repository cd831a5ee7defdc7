"""Reads and writes of live chat: turns, candidates and judgements (DESIGN §8).

Every statement is scoped by organisation.  An assignment sees its own turns and the item's shared
first turn; nothing here reads another assignment's turns or judgements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.domain.chat import TREE_KEY, Candidate, Turn, shown_order
from assay.domain.schema import ProjectSchema
from assay.storage.tables import chat_candidates, chat_judgements, chat_turns


def _visible(org_id: int, assignment_id: int, item_id: int) -> sa.ColumnElement[bool]:
    return sa.and_(
        chat_turns.c.org_id == org_id,
        sa.or_(
            chat_turns.c.assignment_id == assignment_id,
            sa.and_(chat_turns.c.item_id == item_id, chat_turns.c.assignment_id.is_(None)),
        ),
    )


def tree(conn: Connection, *, org_id: int, assignment_id: int, item_id: int) -> dict[int, Turn]:
    """The assignment's conversation tree: its turns and the item's shared one, each with its
    candidates in the order this assignment is shown them, its judgement and its children."""
    rows = list(
        conn.execute(
            sa.select(chat_turns).where(_visible(org_id, assignment_id, item_id)).order_by(chat_turns.c.id)
        )
    )
    if not rows:
        return {}
    ids = [int(r.id) for r in rows]
    found: dict[int, list[Candidate]] = defaultdict(list)
    for c in conn.execute(
        sa.select(chat_candidates)
        .where(chat_candidates.c.org_id == org_id, chat_candidates.c.turn_id.in_(ids))
        .order_by(chat_candidates.c.turn_id, chat_candidates.c.position)
    ):
        found[int(c.turn_id)].append(
            Candidate(id=int(c.id), model=c.model, content=c.content, state=c.state, error=c.error)
        )
    judged = dict(
        conn.execute(
            sa.select(chat_judgements.c.turn_id, chat_judgements.c.judgement).where(
                chat_judgements.c.org_id == org_id, chat_judgements.c.assignment_id == assignment_id
            )
        ).all()
    )
    children: dict[int, list[int]] = defaultdict(list)
    for r in rows:
        if r.parent_id is not None:
            children[int(r.parent_id)].append(int(r.id))
    out: dict[int, Turn] = {}
    for r in rows:
        tid = int(r.id)
        by_id = {c.id: c for c in found[tid]}
        order = shown_order(list(by_id), assignment_id=assignment_id, turn_id=tid)
        out[tid] = Turn(
            id=tid,
            parent=None if r.parent_id is None else int(r.parent_id),
            content=r.content,
            author=r.author,
            candidates=tuple(by_id[c] for c in order),
            judgement=judged.get(tid),
            children=tuple(children[tid]),
        )
    return out


def answer_data(
    conn: Connection,
    *,
    org_id: int,
    schema: ProjectSchema,
    data: Mapping[str, Any],
    assignment_id: int,
    item_id: int,
) -> Mapping[str, Any]:
    """What an answer is checked against: the item's data and, when the project has a chat
    question, the assignment's conversation tree (``TREE_KEY``; no input name starts with ``#``)."""
    if schema.chat_question() is None:
        return data
    return {**data, TREE_KEY: tree(conn, org_id=org_id, assignment_id=assignment_id, item_id=item_id)}


def turn_row(conn: Connection, *, org_id: int, turn_id: int) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(chat_turns).where(chat_turns.c.org_id == org_id, chat_turns.c.id == turn_id)
    ).first()


def shared_turn(conn: Connection, *, org_id: int, item_id: int) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(chat_turns).where(
            chat_turns.c.org_id == org_id,
            chat_turns.c.item_id == item_id,
            chat_turns.c.assignment_id.is_(None),
        )
    ).first()


def assignment_turns(conn: Connection, *, org_id: int, assignment_id: int) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(chat_turns.c.id, chat_turns.c.state, chat_turns.c.created_at).where(
                chat_turns.c.org_id == org_id, chat_turns.c.assignment_id == assignment_id
            )
        )
    )


def insert_turn(
    conn: Connection, *, values: dict[str, Any], models: Sequence[str], at: datetime
) -> tuple[int, list[int]]:
    """A new pending turn and one pending candidate per entry of ``models`` (in position order):
    (turn id, candidate ids)."""
    turn_id = int(conn.execute(chat_turns.insert().values(**values).returning(chat_turns.c.id)).one().id)
    ids = [
        int(
            conn.execute(
                chat_candidates.insert()
                .values(
                    org_id=values["org_id"],
                    turn_id=turn_id,
                    position=k,
                    model=model,
                    content="",
                    state="pending",
                    created_at=at,
                )
                .returning(chat_candidates.c.id)
            )
            .one()
            .id
        )
        for k, model in enumerate(models)
    ]
    return turn_id, ids


def delete_turn(conn: Connection, *, org_id: int, turn_id: int) -> None:
    conn.execute(chat_turns.delete().where(chat_turns.c.org_id == org_id, chat_turns.c.id == turn_id))


def finish_candidate(
    conn: Connection,
    *,
    org_id: int,
    candidate_id: int,
    content: str,
    state: str,
    error: str | None,
    meta: dict[str, Any] | None,
    cost: float | None,
) -> None:
    conn.execute(
        chat_candidates.update()
        .where(chat_candidates.c.org_id == org_id, chat_candidates.c.id == candidate_id)
        .values(content=content, state=state, error=error, meta=meta, cost=cost)
    )


def finish_turn(conn: Connection, *, org_id: int, turn_id: int, state: str) -> None:
    conn.execute(
        chat_turns.update()
        .where(chat_turns.c.org_id == org_id, chat_turns.c.id == turn_id)
        .values(state=state)
    )


def put_judgement(
    conn: Connection,
    *,
    org_id: int,
    assignment_id: int,
    turn_id: int,
    judgement: dict[str, Any],
    at: datetime,
) -> None:
    where = sa.and_(
        chat_judgements.c.org_id == org_id,
        chat_judgements.c.assignment_id == assignment_id,
        chat_judgements.c.turn_id == turn_id,
    )
    moved = conn.execute(chat_judgements.update().where(where).values(judgement=judgement, updated_at=at))
    if moved.rowcount == 0:
        conn.execute(
            chat_judgements.insert().values(
                org_id=org_id,
                assignment_id=assignment_id,
                turn_id=turn_id,
                judgement=judgement,
                updated_at=at,
            )
        )


def candidates_of(conn: Connection, *, org_id: int, turn_ids: Sequence[int]) -> list[sa.Row[Any]]:
    """Candidates with their provenance (exports, costs)."""
    if not turn_ids:
        return []
    return list(
        conn.execute(
            sa.select(chat_candidates)
            .where(chat_candidates.c.org_id == org_id, chat_candidates.c.turn_id.in_(list(turn_ids)))
            .order_by(chat_candidates.c.turn_id, chat_candidates.c.position)
        )
    )


def project_turns(conn: Connection, *, org_id: int, project_id: int) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(chat_turns)
            .where(chat_turns.c.org_id == org_id, chat_turns.c.project_id == project_id)
            .order_by(chat_turns.c.id)
        )
    )


def cost_by_assignment(conn: Connection, *, org_id: int, project_id: int) -> dict[int, float]:
    """What the models cost for each assignment's own turns (shared turns are the item's)."""
    rows = conn.execute(
        sa.select(chat_turns.c.assignment_id, sa.func.sum(chat_candidates.c.cost))
        .join(chat_candidates, chat_candidates.c.turn_id == chat_turns.c.id)
        .where(
            chat_turns.c.org_id == org_id,
            chat_turns.c.project_id == project_id,
            chat_turns.c.assignment_id.is_not(None),
        )
        .group_by(chat_turns.c.assignment_id)
    )
    return {int(a): float(c or 0.0) for a, c in rows}


def conversations(
    conn: Connection, *, org_id: int, assignments: Mapping[int, int]
) -> dict[int, list[dict[str, Any]]]:
    """Each assignment's whole tree as exports keep it: every turn (branches and the item's shared
    turn included) with its candidates, in the order that assignment was shown them, their
    provenance, and the assignment's judgement."""
    if not assignments:
        return {}
    turns = list(
        conn.execute(
            sa.select(chat_turns)
            .where(chat_turns.c.org_id == org_id, chat_turns.c.item_id.in_(set(assignments.values())))
            .order_by(chat_turns.c.id)
        )
    )
    wanted = set(assignments)
    made: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for c in candidates_of(conn, org_id=org_id, turn_ids=[int(t.id) for t in turns]):
        made[int(c.turn_id)].append(
            {
                "id": int(c.id),
                "model": c.model,
                "content": c.content,
                "state": c.state,
                "error": c.error,
                **{k: v for k, v in (c.meta or {}).items() if k != "cost"},
                "cost": c.cost,
            }
        )
    judged: dict[tuple[int, int], Any] = {
        (int(j.assignment_id), int(j.turn_id)): j.judgement
        for j in conn.execute(
            sa.select(chat_judgements).where(
                chat_judgements.c.org_id == org_id, chat_judgements.c.assignment_id.in_(list(wanted))
            )
        )
    }
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    shared = {int(t.item_id): t for t in turns if t.assignment_id is None}
    own: dict[int, list[Any]] = defaultdict(list)
    for t in turns:
        if t.assignment_id is not None and int(t.assignment_id) in wanted:
            own[int(t.assignment_id)].append(t)
    for aid, item_id in assignments.items():
        rows = list(own.get(aid, []))
        first = shared.get(item_id)
        if first is not None and (aid, int(first.id)) in judged:
            rows.insert(0, first)
        for t in rows:
            tid = int(t.id)
            by_id = {c["id"]: c for c in made.get(tid, [])}
            order = shown_order(list(by_id), assignment_id=aid, turn_id=tid)
            out[aid].append(
                {
                    "turn_id": tid,
                    "parent": None if t.parent_id is None else int(t.parent_id),
                    "content": t.content,
                    "author": t.author,
                    "state": t.state,
                    "created_at": t.created_at.isoformat(),
                    "candidates": [{**by_id[c], "shown": i + 1} for i, c in enumerate(order)],
                    "judgement": judged.get((aid, tid)),
                }
            )
    return dict(out)
