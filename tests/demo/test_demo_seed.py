"""`assay demo` seeding: the classification project comes with simulated work from three workforces."""

from __future__ import annotations

from tests.demo.test_demo_content import _items

from assay.app import Assay
from assay.demo import _generate, simulate
from assay.demo.content import DEMO_ORG_SLUG
from assay.demo.seed import seed
from assay.domain.people import Actor
from assay.storage import people
from assay.storage import projects as project_store
from assay.workflows import quality, vendors, workforces


def _manager(hub: Assay) -> Actor:
    with hub.db.read() as conn:
        org = people.org_by_slug(conn, slug=DEMO_ORG_SLUG)
        member = people.membership_of(conn, org_id=int(org.id), email="manager@demo.assay.local")
        found = people.actor_for_membership(conn, membership_id=int(member.id))
    assert found is not None
    return found


def _answers(hub: Assay, org_id: int) -> dict[int, int]:
    with hub.db.read() as conn:
        return {
            int(p.id): project_store.answered_count(conn, org_id=org_id, project_id=int(p.id))
            for p in project_store.list_projects(conn, org_id=org_id)
        }


def test_demo_shows_three_workforces_and_a_second_seed_adds_nothing(hub: Assay) -> None:
    report = seed(hub)
    boss = _manager(hub)
    ids = {name: pid for pid, name, _ in report.projects}
    assert report.simulated is not None and report.simulated.project == "classify"
    assert report.simulated.workforces == ("In-house", "Vendor A", "Vendor B")
    assert "simulated answers on classify" in report.describe("http://127.0.0.1:8000")
    before = _answers(hub, boss.org_id)
    # Only the classification project is worked on, and a good part of it is left to do.
    assert before[ids["preference"]] == before[ids["rubric"]] == 0
    assert 300 < before[ids["classify"]] == report.simulated.answers < 300 * 3 * 0.6

    result = quality.project_quality(hub, boss, ids["classify"])
    assert result["refreshed"]["stale"] is False  # the snapshot was computed while seeding
    cards = {w["name"]: w for w in result["workforces"]}
    assert set(cards) == {"In-house", "Vendor A", "Vendor B"}
    for card in cards.values():
        assert card["gold_accuracy"]["n"] > 0 and card["cost_per_accepted"] is not None

    ranked = [w["name"] for w in vendors.report(hub, boss, ids["classify"])["workforces"]]
    assert ranked.index("In-house") < ranked.index("Vendor B")
    teams = {t["name"]: t for t in workforces.list_all(hub, boss)}
    assert teams["In-house"]["cost_per_hour"] and teams["Vendor A"]["cost_per_answer"]

    again = seed(hub)
    assert again.simulated is None and "simulated" not in again.describe("http://127.0.0.1:8000")
    assert _answers(hub, boss.org_id) == before


def test_labels_the_simulation_aims_at_match_the_gold_items() -> None:
    labels = _generate.classify_labels()
    items = _items("classify")
    assert set(labels) == {item["data"]["text"] for item in items}
    for item in items:
        if "gold" in item:
            sentiment, topic, clear = labels[item["data"]["text"]]
            assert item["gold"] == {"sentiment": sentiment, "topic": topic} and clear
    assert simulate.PROJECT == "classify"
