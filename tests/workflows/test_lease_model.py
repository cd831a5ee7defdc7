"""A model-based test of the assignment rules: random interleavings of next, submit, skip, revise,
lease expiry and changes of the overlap by several annotators, over normal and gold items, never
break the database's invariants: every item's counter is its live leases plus answers, and it is
offered exactly while that is under its cap (the overlap, or the gold cap)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.app import Assay
from assay.errors import AssayError
from assay.storage.people import now
from assay.storage.tables import annotations, assignments, items
from assay.workflows import annotate, ingest, project_admin
from assay.workflows import projects as project_flows
from tests.factories import TEXT_SCHEMA, make_member, make_org, text_items

ANNOTATORS = 4
OVERLAP = 2
ITEMS = 5
GOLD = 2

operations = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=ANNOTATORS - 1),
        st.sampled_from(
            ["next", "next", "submit", "submit", "skip", "revise", "expire", "late_submit", "raise", "lower"]
        ),
    ),
    min_size=1,
    max_size=40,
)


def _invariants(hub: Assay, project_id: int, *, overlap: int, most: int) -> None:
    """``overlap``: the project's cap now (gold items too: their cap is the overlap); ``most``: the
    largest overlap it ever had (answers stored under a higher one are kept when it is lowered)."""
    with hub.db.read() as conn:
        rows = conn.execute(
            sa.select(items.c.id, items.c.claimed, items.c.answered, items.c.open, items.c.is_gold).where(
                items.c.project_id == project_id
            )
        ).all()
        for item in rows:
            statuses = [
                r.status
                for r in conn.execute(sa.select(assignments.c.status).where(assignments.c.item_id == item.id))
            ]
            n_answers = conn.execute(
                sa.select(sa.func.count()).select_from(annotations).where(annotations.c.item_id == item.id)
            ).scalar_one()
            live = statuses.count("leased") + statuses.count("submitted")
            assert item.claimed == live, (item, statuses)
            assert item.answered == n_answers == statuses.count("submitted"), (item, statuses)
            assert n_answers <= most
            assert item.open == (item.claimed < overlap), (item, overlap)
        pairs = conn.execute(
            sa.select(assignments.c.item_id, assignments.c.user_id, sa.func.count())
            .where(assignments.c.project_id == project_id)
            .group_by(assignments.c.item_id, assignments.c.user_id)
            .having(sa.func.count() > 1)
        ).all()
        assert pairs == []


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_random_interleavings_keep_overlap_and_counters_exact(hub: Assay, ops: list[tuple[int, str]]) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager").actor(hub)
    project = project_flows.create(
        hub,
        manager,
        name="model",
        schema=TEXT_SCHEMA,
        settings={"overlap": OVERLAP, "max_leases": 2, "gold_rate": 0.3},
    )
    records = text_items(ITEMS + GOLD)
    for record in records[ITEMS:]:
        record["gold"] = {"sentiment": "neutral"}
    body = b"".join(orjson.dumps(i) + b"\n" for i in records)
    ingest.import_items(hub, manager, project, source=io.BytesIO(body), fmt="jsonl", name="items.jsonl")
    people = [make_member(hub, org).actor(hub) for _ in range(ANNOTATORS)]
    held: dict[int, list[int]] = {i: [] for i in range(ANNOTATORS)}  # assignment ids handed out
    done: dict[int, list[int]] = {i: [] for i in range(ANNOTATORS)}  # annotation ids
    expired: dict[int, list[int]] = {i: [] for i in range(ANNOTATORS)}
    overlap = most = OVERLAP
    for who, op in ops:
        actor = people[who]
        try:
            if op == "next":
                lease = annotate.next_item(hub, actor, project.id)
                if lease is not None and lease.assignment_id not in held[who]:
                    held[who].append(lease.assignment_id)
            elif op in ("submit", "skip") and held[who]:
                assignment = held[who].pop(0)
                if op == "submit":
                    annotation, _ = annotate.submit(hub, actor, assignment, answers={"sentiment": "neutral"})
                    done[who].append(int(annotation["id"]))
                else:
                    annotate.skip(hub, actor, assignment)
            elif op == "late_submit" and expired[who]:
                annotation, _ = annotate.submit(
                    hub, actor, expired[who].pop(0), answers={"sentiment": "positive"}
                )
                done[who].append(int(annotation["id"]))
            elif op == "revise" and done[who]:
                annotate.revise(hub, actor, done[who][-1], answers={"sentiment": "negative"})
            elif op in ("raise", "lower"):
                overlap = min(overlap + 1, 3) if op == "raise" else max(overlap - 1, 1)
                most = max(most, overlap)
                project_admin.update(hub, manager, project.id, settings={"overlap": overlap})
            elif op == "expire":
                with hub.db.write() as conn:
                    conn.execute(
                        assignments.update()
                        .where(assignments.c.project_id == project.id, assignments.c.status == "leased")
                        .values(expires_at=now() - timedelta(seconds=1))
                    )
                for i in range(ANNOTATORS):
                    expired[i].extend(held[i])
                    held[i].clear()
        except AssayError as exc:
            # Refusals are allowed (a full item, an ended lease); they must be clean client errors.
            assert exc.status in (404, 409, 422), exc
        _invariants(hub, project.id, overlap=overlap, most=most)
    # In the end everyone drains the pool: every item reaches its overlap.
    for actor in people:
        for _ in range((ITEMS + GOLD) * 3):
            lease = annotate.next_item(hub, actor, project.id)
            if lease is None:
                break
            annotate.submit(hub, actor, lease.assignment_id, answers={"sentiment": "neutral"})
    _invariants(hub, project.id, overlap=overlap, most=most)
    with hub.db.read() as conn:
        answered: list[Any] = [
            r.answered
            for r in conn.execute(sa.select(items.c.answered).where(items.c.project_id == project.id))
        ]
    held_any = any(held.values()) or any(expired.values())
    if not held_any:
        assert all(overlap <= a <= most for a in answered), (answered, overlap, most)
    else:
        assert all(a <= most for a in answered)
