"""Gold cannot be told apart, and no reviewer action moves a gold score.

The property: for any sequence of gold and normal leases (each submitted), everything the
annotator's token can read — the project list, the project with its counts and settings, the
lease's shape, My work — evolves exactly as it does for the same number of normal leases.
"""

from __future__ import annotations

import dataclasses
import random
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.app import Assay
from assay.storage.tables import annotation_revisions, assignments, items
from assay.web import sessions
from assay.web.app import create_app
from assay.workflows import review
from tests.factories import TEXT_SCHEMA, Member, make_member, make_org

GOLD_ANSWER = "neutral"


class Draw(random.Random):
    """The hub's generator with its gold draw set per lease (0.0 wants gold, 0.99 never does)."""

    def __init__(self) -> None:
        super().__init__(20261202)
        self.value = 0.99

    def random(self) -> float:
        return self.value


@pytest.fixture
def client(hub: Assay) -> Iterator[TestClient]:
    hub.config = dataclasses.replace(hub.config, secret_key="g" * 40)
    hub.rng = Draw()
    with TestClient(create_app(hub), raise_server_exceptions=False) as c:
        yield c


def _project(
    client: TestClient, manager: Member, *, normal: int, gold: int, name: str | None = None, **settings_: Any
) -> int:
    created = client.post(
        "/api/v1/projects",
        json={"name": name or f"p-{secrets.token_hex(4)}", "schema": TEXT_SCHEMA, "settings": settings_},
        headers=manager.headers,
    )
    assert created.status_code == 201, created.text
    pid = int(created.json()["id"])
    records: list[dict[str, Any]] = [{"data": {"text": f"item {i}"}} for i in range(normal)]
    records += [{"data": {"text": f"other {i}"}, "gold": {"sentiment": GOLD_ANSWER}} for i in range(gold)]
    random.Random(7).shuffle(records)  # gold ids interleaved with the others, as a lab would import
    assert (
        client.post(f"/api/v1/projects/{pid}/items", json=records, headers=manager.headers).status_code == 201
    )
    return pid


def _is_gold(hub: Assay, item_id: int) -> bool:
    with hub.db.read() as conn:
        return bool(conn.execute(sa.select(items.c.is_gold).where(items.c.id == item_id)).scalar_one())


def _readable(hub: Assay, client: TestClient, who: Member, pid: int, lease: dict[str, Any]) -> dict[str, Any]:
    """Everything the annotator can read now, less what names the one item they hold."""
    listed = client.get("/api/v1/projects", headers=who.headers).json()
    shown = client.get(f"/api/v1/projects/{pid}", headers=who.headers).json()
    for project in [*listed["projects"], shown]:
        project.pop("id"), project.pop("created_at")
    cookie, _ = sessions.start(hub, membership_id=who.actor(hub).membership_id, proven=(), ip=None)
    client.cookies.set(sessions.COOKIE, cookie)
    page = client.get("/projects").text
    client.cookies.clear()
    row = re.search(r'data-left="(\d+)">[^<]*</td>\s*<td>(\d+)</td>', page)
    assert row, page
    return {
        "list": listed,
        "project": shown,
        "my work": row.groups(),
        "lease keys": sorted(lease),
        "item keys": sorted(lease["item"]),
        "questions": lease["questions"],
    }


def _run(hub: Assay, client: TestClient, kinds: list[bool]) -> list[dict[str, Any]]:
    """Lease and answer once per entry of ``kinds`` (True: gold), recording what can be read."""
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    who = make_member(hub, org, workforce="Vendor A", vendor=True)
    pid = _project(client, manager, normal=8, gold=8, overlap=2, gold_rate=0.5, name="same in every run")
    assert isinstance(hub.rng, Draw)
    seen = []
    for gold in kinds:
        hub.rng.value = 0.0 if gold else 0.99
        lease = client.get(f"/api/v1/projects/{pid}/next", headers=who.headers)
        assert lease.status_code == 200, lease.text
        body = lease.json()
        assert _is_gold(hub, int(body["item"]["id"])) is gold
        done = client.post(
            f"/api/v1/assignments/{body['assignment_id']}/submit",
            json={"answers": {"sentiment": "positive"}, "duration_ms": 4000},
            headers={**who.headers, "Idempotency-Key": secrets.token_hex(8)},
        )
        assert done.status_code == 201
        assert sorted(done.json()) == [
            "answers",
            "assignment_id",
            "created_at",
            "duration_ms",
            "id",
            "item_id",
            "ok",
        ]
        seen.append(_readable(hub, client, who, pid, body))
    return seen


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(st.booleans(), min_size=1, max_size=6))
def test_what_an_annotator_reads_evolves_the_same_for_gold_and_normal_leases(
    hub: Assay, client: TestClient, kinds: list[bool]
) -> None:
    assert _run(hub, client, kinds) == _run(hub, client, [False] * len(kinds))


def test_an_annotator_reads_neither_gold_settings_nor_other_workforces(
    hub: Assay, client: TestClient
) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    who = make_member(hub, org, workforce="Vendor A", vendor=True)
    pid = _project(
        client,
        manager,
        normal=4,
        gold=2,
        gold_rate=0.3,
        workforces=["Vendor A", "Vendor B"],
        batches={"secret-batch": ["Vendor B"]},
    )
    shown = client.get(f"/api/v1/projects/{pid}", headers=who.headers).json()
    assert set(shown["settings"]) == {"instructions", "lease_seconds", "max_leases"}
    assert set(shown["counts"]) == {"left", "done", "leased"}
    assert "Vendor B" not in str(shown) and "secret-batch" not in str(shown)
    full = client.get(f"/api/v1/projects/{pid}", headers=manager.headers).json()
    assert full["settings"]["gold_rate"] == 0.3 and full["counts"]["gold"] == 2


def test_a_gold_item_is_shown_no_more_often_than_the_overlap(hub: Assay, client: TestClient) -> None:
    """Colleagues comparing the items they got cannot spot gold by how many of them had it: with
    gold_rate 1, three gold items at overlap 2 serve six gold leases, then only normal items."""
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    pid = _project(client, manager, normal=10, gold=3, overlap=2, gold_rate=1.0)
    assert isinstance(hub.rng, Draw)
    hub.rng.value = 0.0
    crowd = [make_member(hub, org) for _ in range(5)]
    for who in crowd:
        for _ in range(3):
            assert client.get(f"/api/v1/projects/{pid}/next", headers=who.headers).status_code == 200
    with hub.db.read() as conn:
        shown = conn.execute(
            sa.select(items.c.is_gold, sa.func.count(assignments.c.id))
            .join(assignments, assignments.c.item_id == items.c.id)
            .group_by(items.c.id, items.c.is_gold)
        ).all()
    gold_exposure = [n for is_gold, n in shown if is_gold]
    assert gold_exposure == [2, 2, 2]
    assert max(n for _, n in shown) == 2
    # The manager is told the gold has run out (and what to do), since annotators now get none.
    supply = client.get(f"/api/v1/projects/{pid}/quality", headers=manager.headers).json()["gold"]
    assert supply == {"items": 3, "open": 0, "shown": 6, "cap": 2, "rate": 1.0, "exhausted": True}


def test_when_normal_work_runs_out_gold_is_served_so_left_means_what_next_gives(
    hub: Assay, client: TestClient
) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    who = make_member(hub, org)
    pid = _project(client, manager, normal=2, gold=3, overlap=1, gold_rate=0.2, max_leases=20)
    left = client.get(f"/api/v1/projects/{pid}", headers=who.headers).json()["counts"]["left"]
    assert left == 5
    served = 0
    while client.get(f"/api/v1/projects/{pid}/next", headers=who.headers).status_code == 200:
        served += 1
    assert served == left
    # A project that serves no gold (gold_rate 0) counts none as left, and serves none.
    plain = client.post(
        "/api/v1/projects",
        json={"name": "no-gold", "schema": TEXT_SCHEMA, "settings": {"max_leases": 20}},
        headers=manager.headers,
    ).json()["id"]
    client.post(
        f"/api/v1/projects/{plain}/items",
        json=[{"data": {"text": "a"}}, {"data": {"text": "g"}, "gold": {"sentiment": "neutral"}}],
        headers=manager.headers,
    )
    assert client.get(f"/api/v1/projects/{plain}", headers=who.headers).json()["counts"]["left"] == 1


def _gold_accuracy(client: TestClient, manager: Member, pid: int, email: str) -> dict[str, Any]:
    report = client.get(f"/api/v1/projects/{pid}/quality", headers=manager.headers).json()
    (card,) = [a for a in report["annotators"] if a["user"] == email]
    accuracy: dict[str, Any] = card["gold_accuracy"]
    return accuracy


def test_no_reviewer_action_moves_a_gold_score(hub: Assay, client: TestClient) -> None:
    """A vendor's reviewer fixes, then rejects, their own annotator's wrong gold answer: the gold
    record stays 0 of 1 in the quality report and the vendor report, and the pause gate reads the
    same; a fix was an oracle for the gold answer and became the answer of record."""
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    annotator = make_member(hub, org, workforce="Vendor A", vendor=True)
    helper = make_member(hub, org, workforce="Vendor A", vendor=True)
    reviewer = make_member(hub, org, role="reviewer", workforce="Vendor A", vendor=True)
    pid = _project(client, manager, normal=3, gold=1, overlap=3, gold_rate=1.0)
    assert isinstance(hub.rng, Draw)
    hub.rng.value = 0.0
    for who in (annotator, helper):
        lease = client.get(f"/api/v1/projects/{pid}/next", headers=who.headers).json()
        assert _is_gold(hub, int(lease["item"]["id"]))
        client.post(
            f"/api/v1/assignments/{lease['assignment_id']}/submit",
            json={"answers": {"sentiment": "positive"}},  # wrong: gold says neutral
            headers=who.headers,
        )
        if who is annotator:
            wrong = client.get(f"/api/v1/items/{lease['item']['id']}", headers=reviewer.headers).json()
    before = _gold_accuracy(client, manager, pid, annotator.email)
    assert (before["value"], before["n"]) == (0.0, 1)
    (mine,) = [a for a in wrong["annotations"] if a["annotator"] == annotator.email]
    review.judge(hub, reviewer.actor(hub), int(mine["id"]), verdict="fix", answers={"sentiment": GOLD_ANSWER})
    fixed = _gold_accuracy(client, manager, pid, annotator.email)
    assert (fixed["value"], fixed["n"]) == (0.0, 1)
    review.judge(hub, reviewer.actor(hub), int(mine["id"]), verdict="reject", reason="careless")
    rejected = _gold_accuracy(client, manager, pid, annotator.email)
    assert (rejected["value"], rejected["n"]) == (0.0, 1)
    vendors = client.get(f"/api/v1/projects/{pid}/vendors", headers=manager.headers).json()
    (team,) = vendors["workforces"]
    assert team["gold_accuracy"]["n"] == 2 and team["gold_accuracy"]["value"] == 0.0
    # The reviewer's own report has no gold figures to watch at all.
    own = client.get(f"/api/v1/projects/{pid}/quality", headers=reviewer.headers).json()
    assert all(a["gold_accuracy"] is None for a in own["annotators"]) and own["adaptive_overlap"] is None


def test_a_judged_answer_is_final_for_its_author(hub: Assay, client: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    reviewer = make_member(hub, org, role="reviewer")
    annotator = make_member(hub, org)
    pid = _project(client, manager, normal=3, gold=0, overlap=1)
    answered = []
    for _ in range(3):
        lease = client.get(f"/api/v1/projects/{pid}/next", headers=annotator.headers).json()
        done = client.post(
            f"/api/v1/assignments/{lease['assignment_id']}/submit",
            json={"answers": {"sentiment": "positive"}},
            headers=annotator.headers,
        ).json()
        answered.append(int(done["id"]))
    same = client.post(
        f"/api/v1/annotations/{answered[0]}/revise",
        json={"answers": {"sentiment": "positive"}},
        headers=annotator.headers,
    )
    assert same.status_code == 201 and same.json()["revised"] is False  # nothing changed: nothing stored
    with hub.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(annotation_revisions)).scalar_one() == 0
    review.judge(hub, reviewer.actor(hub), answered[0], verdict="reject", reason="wrong")
    review.judge(hub, reviewer.actor(hub), answered[1], verdict="accept")
    for annotation_id in answered[:2]:
        late = client.post(
            f"/api/v1/annotations/{annotation_id}/revise",
            json={"answers": {"sentiment": "negative"}},
            headers=annotator.headers,
        )
        assert late.status_code == 409, late.text
    revised = client.post(
        f"/api/v1/annotations/{answered[2]}/revise",
        json={"answers": {"sentiment": "negative"}},
        headers=annotator.headers,
    )
    assert revised.status_code == 201 and revised.json()["revised"] is True
    # The rejected answer stays rejected: its item went back to the pool once, and no more.
    item = client.get(f"/api/v1/items/{same.json()['item_id']}", headers=manager.headers).json()
    assert [a["review"] for a in item["annotations"]] == ["reject"]
    record = client.get(f"/api/v1/items/{revised.json()['item_id']}", headers=manager.headers).json()
    assert record["annotations"][0]["provenance"] == "revised"
    assert record["annotations"][0]["original_answers"] == {"sentiment": "positive"}


def test_a_pause_holds_for_leases_taken_before_it(hub: Assay, client: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    careless = make_member(hub, org)
    pid = _project(
        client, manager, normal=4, gold=3, overlap=3, gold_rate=1.0, pause_below=0.9, pause_min_gold=2,
        max_leases=5,
    )  # fmt: skip
    assert isinstance(hub.rng, Draw)
    hub.rng.value = 0.0
    leases = [client.get(f"/api/v1/projects/{pid}/next", headers=careless.headers).json() for _ in range(3)]
    for lease in leases[:2]:  # two wrong gold answers: paused
        client.post(
            f"/api/v1/assignments/{lease['assignment_id']}/submit",
            json={"answers": {"sentiment": "positive"}},
            headers=careless.headers,
        )
    held = leases[2]["assignment_id"]
    for url in (f"/api/v1/assignments/{held}/submit", f"/api/v1/assignments/{held}/extend"):
        refused = client.post(url, json={"answers": {"sentiment": "neutral"}}, headers=careless.headers)
        assert refused.status_code == 403 and "paused" in refused.json()["error"], refused.text


def test_a_verdict_checks_the_items_batch_and_the_author(hub: Assay, client: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    annotator = make_member(hub, org, workforce="Vendor A", vendor=True)
    reviewer = make_member(hub, org, role="reviewer", workforce="Vendor A", vendor=True)
    pid = _project(client, manager, normal=1, gold=0, overlap=2, workforces=["Vendor A"])
    lease = client.get(f"/api/v1/projects/{pid}/next", headers=annotator.headers).json()
    done = client.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        json={"answers": {"sentiment": "positive"}},
        headers=annotator.headers,
    ).json()
    # The item is moved into a batch shared with Vendor B only: Vendor A's reviewer gets 404 on it,
    # for reading and for judging alike.
    with hub.db.write() as conn:
        conn.execute(items.update().where(items.c.id == int(done["item_id"])).values(batch="b-only"))
    settings_ = client.get(f"/api/v1/projects/{pid}", headers=manager.headers).json()["settings"]
    from assay.storage.tables import projects

    with hub.db.write() as conn:
        conn.execute(
            projects.update()
            .where(projects.c.id == pid)
            .values(settings={**settings_, "batches": {"b-only": ["Vendor B"]}})
        )
    assert client.get(f"/api/v1/items/{done['item_id']}", headers=reviewer.headers).status_code == 404
    with pytest.raises(Exception) as refused:
        review.judge(hub, reviewer.actor(hub), int(done["id"]), verdict="accept")
    assert type(refused.value).__name__ == "NotFound"
    # Nobody reviews their own answer.
    both = make_member(hub, org, role="reviewer")
    own_pid = _project(client, manager, normal=1, gold=0)
    own = client.get(f"/api/v1/projects/{own_pid}/next", headers=both.headers).json()
    mine = client.post(
        f"/api/v1/assignments/{own['assignment_id']}/submit",
        json={"answers": {"sentiment": "neutral"}},
        headers=both.headers,
    ).json()
    with pytest.raises(Exception) as self_review:
        review.judge(hub, both.actor(hub), int(mine["id"]), verdict="accept")
    assert type(self_review.value).__name__ == "Forbidden"
