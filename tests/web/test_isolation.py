"""Tenant isolation over the JSON API: a canary planted in organisation B never reaches A."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from assay.app import Assay
from tests.factories import PREFERENCE_SCHEMA, make_member, make_org

CANARY = "CANARY-7f3a9c"


def plant_canary(hub: Assay, api: TestClient) -> dict[str, Any]:
    org_b = make_org(hub, f"org-{CANARY.lower()}")
    manager = make_member(hub, org_b, role="manager")
    annotator = make_member(hub, org_b, workforce=f"Vendor {CANARY}", vendor=True)
    body = {
        "name": f"secret {CANARY}",
        "description": CANARY,
        "schema": PREFERENCE_SCHEMA,
        "settings": {"overlap": 1, "instructions": CANARY},
    }
    project = api.post("/api/v1/projects", json=body, headers=manager.headers).json()
    item = {
        "data": {
            "prompt": f"prompt {CANARY}",
            "responses": [{"id": "a", "content": CANARY}, {"id": "b", "content": CANARY}],
        },
        "external_id": CANARY,
    }
    gold = {**item, "external_id": f"gold-{CANARY}", "gold": {"overall": -1}}
    api.post(f"/api/v1/projects/{project['id']}/items", json=[item, gold], headers=manager.headers)
    lease = api.get(f"/api/v1/projects/{project['id']}/next", headers=annotator.headers).json()
    api.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        json={"answers": {"overall": 2, "helpful": 3, "why": CANARY}},
        headers=annotator.headers,
    )
    return {"project": project["id"], "item": lease["item"]["id"], "assignment": lease["assignment_id"]}


def test_nothing_of_organisation_b_reaches_organisation_a(hub: Assay, api: TestClient) -> None:
    assert_canary_stays_in_b(hub, api, plant_canary(hub, api))


def assert_canary_stays_in_b(hub: Assay, api: TestClient, planted: dict[str, Any]) -> None:
    """Every role of a new organisation A fetches everything it can; B's canary appears nowhere."""
    org_a = make_org(hub)
    members = [make_member(hub, org_a, role=role) for role in ("owner", "manager", "reviewer", "annotator")]
    own = api.post(
        "/api/v1/projects", json={"name": "mine", "schema": PREFERENCE_SCHEMA}, headers=members[1].headers
    ).json()["id"]
    b_project, b_item, b_assignment = planted["project"], planted["item"], planted["assignment"]
    for member in members:
        h = member.headers
        responses = [
            api.get("/api/v1/projects", headers=h),
            api.get(f"/api/v1/projects/{b_project}", headers=h),
            api.get(f"/api/v1/projects/{b_project}/next", headers=h),
            api.get(f"/api/v1/projects/{b_project}/quality", headers=h),
            api.post(f"/api/v1/projects/{b_project}/items", json=[{"data": {}}], headers=h),
            api.get(f"/api/v1/items/{b_item}", headers=h),
            api.post(f"/api/v1/assignments/{b_assignment}/submit", json={"answers": {}}, headers=h),
            api.post(f"/api/v1/assignments/{b_assignment}/skip", headers=h),
            api.post("/api/v1/annotations/1/revise", json={"answers": {}}, headers=h),
            api.get(f"/api/v1/projects/{own}/quality", headers=h),
        ]
        responses += [
            api.get(f"/api/v1/projects/{b_project}/export?format={fmt}", headers=h)
            for fmt in ("jsonl", "csv", "parquet", "dpo", "sft")
        ]
        responses += [
            api.get(f"/api/v1/projects/{own}/export?format={fmt}", headers=h)
            for fmt in ("jsonl", "csv", "dpo", "sft")
        ]
        for response in responses:
            assert CANARY not in response.text, (member.role, response.request.url, response.text)
            assert CANARY.encode() not in response.content
        # Every path that names B's objects answers exactly like a missing object.
        for response in responses[1:9]:
            if response.status_code != 403:  # a role check may come first; it tells nothing about B
                assert response.status_code == 404, (member.role, response.request.url, response.status_code)


def test_foreign_ids_under_own_urls_are_404(hub: Assay, api: TestClient) -> None:
    planted = plant_canary(hub, api)
    org_a = make_org(hub)
    manager = make_member(hub, org_a, role="manager")
    annotator = make_member(hub, org_a)
    missing = api.get("/api/v1/items/987654", headers=manager.headers)
    foreign = api.get(f"/api/v1/items/{planted['item']}", headers=manager.headers)
    assert missing.status_code == foreign.status_code == 404
    assert foreign.json()["error"] == f"item {planted['item']} does not exist"
    foreign_lease = api.post(
        f"/api/v1/assignments/{planted['assignment']}/submit",
        json={"answers": {"overall": 1, "helpful": 2}},
        headers=annotator.headers,
    )
    assert foreign_lease.status_code == 404
