"""Lease expiry and the edges of the assignment rules, through the workflows."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from assay.app import Assay
from assay.errors import Conflict, Forbidden
from assay.storage.people import now
from assay.storage.tables import assignments, items
from assay.workflows import annotate, ingest
from assay.workflows import projects as project_flows
from tests.factories import TEXT_SCHEMA, make_member, make_org, text_items


def _setup(hub: Assay, n: int = 1, **settings: Any) -> tuple[str, Any]:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager").actor(hub)
    project = project_flows.create(hub, manager, name="p", schema=TEXT_SCHEMA, settings=settings)
    body = b"".join(orjson.dumps(i) + b"\n" for i in text_items(n))
    ingest.import_items(hub, manager, project, source=io.BytesIO(body), fmt="jsonl", name="items.jsonl")
    return org, project


def _expire_all(hub: Assay) -> None:
    with hub.db.write() as conn:
        conn.execute(assignments.update().values(expires_at=now() - timedelta(seconds=1)))


def _claimed(hub: Assay) -> list[int]:
    with hub.db.read() as conn:
        return [r.claimed for r in conn.execute(sa.select(items.c.claimed).order_by(items.c.id))]


def test_an_expired_lease_returns_the_item_to_the_pool(hub: Assay) -> None:
    org, project = _setup(hub)
    alice = make_member(hub, org).actor(hub)
    bob = make_member(hub, org).actor(hub)
    lease = annotate.next_item(hub, alice, project.id)
    assert lease is not None
    assert annotate.next_item(hub, bob, project.id) is None
    _expire_all(hub)
    again = annotate.next_item(hub, bob, project.id)
    assert again is not None and again.item_id == lease.item_id
    assert _claimed(hub) == [1]


def test_a_late_submit_is_kept_when_the_item_has_room(hub: Assay) -> None:
    org, project = _setup(hub, overlap=2)
    alice = make_member(hub, org).actor(hub)
    lease = annotate.next_item(hub, alice, project.id)
    assert lease is not None
    _expire_all(hub)
    bob = make_member(hub, org).actor(hub)
    assert annotate.next_item(hub, bob, project.id) is not None  # runs the expiry sweep
    annotation, created = annotate.submit(hub, alice, lease.assignment_id, answers={"sentiment": "neutral"})
    assert created and annotation["answers"] == {"sentiment": "neutral"}
    assert _claimed(hub) == [2]


def test_a_late_submit_on_a_full_item_is_a_conflict(hub: Assay) -> None:
    org, project = _setup(hub, overlap=1)
    alice = make_member(hub, org).actor(hub)
    lease = annotate.next_item(hub, alice, project.id)
    assert lease is not None
    _expire_all(hub)
    bob = make_member(hub, org).actor(hub)
    bob_lease = annotate.next_item(hub, bob, project.id)
    assert bob_lease is not None
    annotate.submit(hub, bob, bob_lease.assignment_id, answers={"sentiment": "positive"})
    with pytest.raises(Conflict, match="expired"):
        annotate.submit(hub, alice, lease.assignment_id, answers={"sentiment": "neutral"})
    assert _claimed(hub) == [1]


def test_required_skills_gate_next(hub: Assay) -> None:
    from assay.storage import people

    org, project = _setup(hub, required_skills=["de-native"])
    member = make_member(hub, org)
    with pytest.raises(Forbidden, match="de-native"):
        annotate.next_item(hub, member.actor(hub), project.id)
    actor = member.actor(hub)
    with hub.db.write() as conn:
        people.grant_skill(
            conn, org_id=actor.org_id, membership_id=actor.membership_id, skill="de-native", source="manager"
        )
    assert annotate.next_item(hub, member.actor(hub), project.id) is not None


def test_skipping_twice_is_harmless_and_releases_once(hub: Assay) -> None:
    org, project = _setup(hub)
    alice = make_member(hub, org).actor(hub)
    lease = annotate.next_item(hub, alice, project.id)
    assert lease is not None
    annotate.skip(hub, alice, lease.assignment_id)
    annotate.skip(hub, alice, lease.assignment_id)
    assert _claimed(hub) == [0]
