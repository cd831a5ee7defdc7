"""Gold is indistinguishable by timing: a `next` that leases a gold item does the same database work,
statement for statement, as one that leases a normal item (DESIGN §6), and says the same in JSON."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event

from assay.app import Assay
from assay.domain.people import Actor
from assay.storage.people import now
from assay.storage.tables import assignments, items
from assay.workflows import annotate, ingest
from assay.workflows import projects as project_flows
from tests.factories import TEXT_SCHEMA, make_member, make_org, text_items


class Draw(random.Random):
    """A seeded generator whose gold draw is fixed: 0.0 always wants gold, 0.99 never does."""

    def __init__(self, value: float) -> None:
        super().__init__(20261130)
        self.value = value

    def random(self) -> float:
        return self.value


def _setup(hub: Assay, *, normal: int = 4, gold: int = 4) -> tuple[str, int]:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager").actor(hub)
    project = project_flows.create(
        hub, manager, name="p", schema=TEXT_SCHEMA, settings={"gold_rate": 0.5, "overlap": 1}
    )
    records = text_items(normal + gold)
    for record in records[normal:]:
        record["gold"] = {"sentiment": "positive"}
    body = b"".join(orjson.dumps(r) + b"\n" for r in records)
    ingest.import_items(hub, manager, project, source=io.BytesIO(body), fmt="jsonl", name="items.jsonl")
    return org, project.id


@contextmanager
def _statements(hub: Assay) -> Iterator[list[str]]:
    """Every SQL statement sent to the database, on the read and the write engine."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    engines = {hub.db.read_engine, hub.db.write_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def _shape(statement: str) -> tuple[str, str]:
    """(first keyword, table) of a statement, e.g. ("UPDATE", "items")."""
    words = statement.replace("(", " ").split()
    keyword = words[0].upper()
    marker = {"SELECT": "FROM", "INSERT": "INTO", "UPDATE": "UPDATE", "DELETE": "FROM"}.get(keyword)
    table = words[words.index(marker) + 1].strip('"') if marker in words else ""
    return keyword, table


def _lease(hub: Assay, actor: Actor, project_id: int, draw: float) -> tuple[annotate.Lease, list[str]]:
    hub.rng = Draw(draw)
    with _statements(hub) as seen:
        lease = annotate.next_item(hub, actor, project_id)
    assert lease is not None
    return lease, seen


def _is_gold(hub: Assay, item_id: int) -> bool:
    with hub.db.read() as conn:
        return bool(conn.execute(sa.select(items.c.is_gold).where(items.c.id == item_id)).scalar_one())


def _json_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_shape(v) for v in value]
    return type(value).__name__


def test_a_gold_lease_runs_the_same_statements_as_a_normal_one(hub: Assay) -> None:
    org, project_id = _setup(hub)
    alice = make_member(hub, org).actor(hub)
    bob = make_member(hub, org).actor(hub)
    gold, gold_sql = _lease(hub, alice, project_id, 0.0)
    normal, normal_sql = _lease(hub, bob, project_id, 0.99)
    assert _is_gold(hub, gold.item_id) and not _is_gold(hub, normal.item_id)
    shapes = [_shape(s) for s in gold_sql]
    assert shapes == [_shape(s) for s in normal_sql]
    # Both candidate queries, one guarded UPDATE of the item, one INSERT of the lease, every time.
    assert shapes.count(("UPDATE", "items")) == 1
    assert shapes.count(("INSERT", "assignments")) == 1
    assert sum(1 for s in gold_sql if s.startswith("SELECT items.id, items.priority")) == 2
    # Not only the shapes: the very same SQL text, in the same order.
    assert gold_sql == normal_sql


def test_a_gold_lease_says_exactly_what_a_normal_one_says(hub: Assay) -> None:
    org, project_id = _setup(hub)
    gold, _ = _lease(hub, make_member(hub, org).actor(hub), project_id, 0.0)
    normal, _ = _lease(hub, make_member(hub, org).actor(hub), project_id, 0.99)
    assert _is_gold(hub, gold.item_id) and not _is_gold(hub, normal.item_id)
    gold_json, normal_json = gold.public(), normal.public()
    assert _json_shape(gold_json) == _json_shape(normal_json)
    assert set(gold_json) == {
        "assignment_id",
        "item",
        "questions",
        "expires_at",
        "server_time",
        "lease_seconds",
    }
    assert gold_json["lease_seconds"] == normal_json["lease_seconds"]  # the project's, whatever the kind
    assert set(gold_json["item"]) == {"id", "data"} and gold_json["questions"] == normal_json["questions"]
    assert "positive" not in orjson.dumps(gold_json["item"]).decode()  # the known answer stays home


def _gold_counters(hub: Assay) -> list[tuple[int, bool, int]]:
    with hub.db.read() as conn:
        rows = conn.execute(
            sa.select(items.c.claimed, items.c.open, items.c.answered)
            .where(items.c.is_gold.is_(True))
            .order_by(items.c.id)
        )
        return [(int(r.claimed), bool(r.open), int(r.answered)) for r in rows]


def test_a_gold_item_is_capped_like_any_other_and_its_units_come_back_the_same_way(hub: Assay) -> None:
    """A gold item counts leases against its cap (the overlap, 1 here) with the same statement as a
    normal item: it is shown no more often than any other item, so colleagues comparing items cannot
    spot it by how many of them had it.  Skips and expiries give the unit back as for any item."""
    org, project_id = _setup(hub, normal=4, gold=1)
    members = [make_member(hub, org).actor(hub) for _ in range(3)]
    first, second, third = (_lease(hub, m, project_id, 0.0)[0] for m in members)
    assert _is_gold(hub, first.item_id)
    assert not _is_gold(hub, second.item_id) and not _is_gold(hub, third.item_id)  # the cap is reached
    assert _gold_counters(hub) == [(1, False, 0)]
    annotate.skip(hub, members[0], first.assignment_id)
    assert _gold_counters(hub) == [(0, True, 0)]
    again = _lease(hub, members[1], project_id, 0.0)[0]
    assert again.item_id == first.item_id and _gold_counters(hub) == [(1, False, 0)]
    with hub.db.write() as conn:
        conn.execute(assignments.update().values(expires_at=now() - timedelta(seconds=1)))
    fresh = make_member(hub, org).actor(hub)
    after = _lease(hub, fresh, project_id, 0.0)[0]  # its sweep expires the earlier leases
    assert after.item_id == first.item_id
    annotate.submit(hub, fresh, after.assignment_id, answers={"sentiment": "neutral"})
    assert _gold_counters(hub) == [(1, False, 1)]
    # A normal lease takes a unit the same way, and the item closes at overlap 1.
    normal = _lease(hub, fresh, project_id, 0.99)[0]
    with hub.db.read() as conn:
        row = conn.execute(sa.select(items.c.claimed, items.c.open).where(items.c.id == normal.item_id)).one()
    assert (int(row.claimed), bool(row.open)) == (1, False)


def test_submitting_a_gold_answer_waits_on_the_same_statements_as_a_normal_one(hub: Assay) -> None:
    """What the annotator waits for on submit is the same SQL for gold and normal items; the gates,
    which differ (gold scoring and pausing, or adaptive settling), run after the response (the API
    hands them to ``defer``)."""
    org, project_id = _setup(hub)
    alice = make_member(hub, org).actor(hub)
    bob = make_member(hub, org).actor(hub)
    gold, _ = _lease(hub, alice, project_id, 0.0)
    normal, _ = _lease(hub, bob, project_id, 0.99)
    assert _is_gold(hub, gold.item_id) and not _is_gold(hub, normal.item_id)
    later: list[Any] = []
    waited = []
    for who, lease in ((alice, gold), (bob, normal)):
        with _statements(hub) as seen:
            annotate.submit(
                hub,
                who,
                lease.assignment_id,
                answers={"sentiment": "neutral"},
                duration_ms=3000,
                idempotency_key=f"key-{lease.assignment_id}",
                defer=later.append,
            )
        waited.append(seen)
    assert [_shape(s) for s in waited[0]] == [_shape(s) for s in waited[1]]
    assert waited[0] == waited[1]
    assert len(later) == 2
    for gates_of_one_answer in later:  # the deferred gates still run, each in its own transaction
        gates_of_one_answer()
