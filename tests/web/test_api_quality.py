from __future__ import annotations

import random
from typing import Any

from fastapi.testclient import TestClient

from assay.app import Assay
from tests.factories import TEXT_SCHEMA, make_member, make_org, text_items


def test_quality_reports_agreement_and_scorecards_with_gold_intervals(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    body = {"name": "q", "schema": TEXT_SCHEMA, "settings": {"overlap": 3, "gold_rate": 0.2}}
    project_id = api.post("/api/v1/projects", json=body, headers=manager.headers).json()["id"]
    truth = {f"x-{i}": random.Random(i).choice(["positive", "neutral", "negative"]) for i in range(60)}
    items: list[dict[str, Any]] = text_items(60)
    for item in items[:12]:
        item["gold"] = {"sentiment": truth[item["external_id"]]}
    api.post(f"/api/v1/projects/{project_id}/items", json=items, headers=manager.headers)
    ext_by_text = {i["data"]["text"]: i["external_id"] for i in items}
    rng = random.Random(7)
    careful = [make_member(hub, org, workforce="Vendor A", vendor=True) for _ in range(3)]
    sloppy = [make_member(hub, org, workforce="Vendor B", vendor=True) for _ in range(2)]
    pool = [*((m, 1.0) for m in careful), *((m, 0.3) for m in sloppy)]
    active = list(pool)
    for _ in range(1000):  # round-robin, so that every workforce gets work
        if not active:
            break
        member, accuracy = active.pop(0)
        lease = api.get(f"/api/v1/projects/{project_id}/next", headers=member.headers)
        if lease.status_code == 204:
            continue
        active.append((member, accuracy))
        data = lease.json()
        right = truth[ext_by_text[data["item"]["data"]["text"]]]
        answer = right if rng.random() < accuracy else rng.choice(["positive", "neutral", "negative"])
        api.post(
            f"/api/v1/assignments/{data['assignment_id']}/submit",
            json={"answers": {"sentiment": answer}, "duration_ms": 3000},
            headers=member.headers,
        )
    report = api.get(f"/api/v1/projects/{project_id}/quality", headers=manager.headers)
    assert report.status_code == 200, report.text
    q = report.json()
    assert q["question"] == "sentiment"
    assert q["agreement"]["metric"] == "krippendorff_alpha"
    assert q["agreement"]["low"] <= q["agreement"]["value"] <= q["agreement"]["high"]
    by_user = {a["user"]: a for a in q["annotators"]}
    for member in careful:
        card = by_user[member.email]
        assert card["workforce"] == "Vendor A"
        assert card["gold_accuracy"]["n"] > 0 and card["gold_accuracy"]["value"] == 1.0
    teams = {w["name"]: w for w in q["workforces"]}
    assert set(teams) == {"Vendor A", "Vendor B"}
    a, b = teams["Vendor A"]["gold_accuracy"], teams["Vendor B"]["gold_accuracy"]
    assert a["value"] > b["value"] and a["low"] <= a["value"] <= a["high"]


def test_quality_of_an_empty_project_and_who_may_see_it(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = api.post(
        "/api/v1/projects", json={"name": "e", "schema": TEXT_SCHEMA}, headers=manager.headers
    ).json()["id"]
    empty = api.get(f"/api/v1/projects/{project_id}/quality", headers=manager.headers).json()
    assert empty["answers"] == 0 and empty["agreement"] is None and empty["annotators"] == []
    annotator = make_member(hub, org)
    assert api.get(f"/api/v1/projects/{project_id}/quality", headers=annotator.headers).status_code == 403
    outsider = make_member(hub, make_org(hub), role="owner")
    assert api.get(f"/api/v1/projects/{project_id}/quality", headers=outsider.headers).status_code == 404
