from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from assay.app import Assay
from tests.factories import (
    PREFERENCE_SCHEMA,
    TEXT_SCHEMA,
    Member,
    make_member,
    make_org,
    preference_items,
    text_items,
)


def _project(
    api: TestClient, manager: Member, *, schema: dict[str, Any] = TEXT_SCHEMA, **settings: Any
) -> int:
    body = {"name": f"p{len(settings)}-{id(settings)}", "schema": schema, "settings": settings}
    response = api.post("/api/v1/projects", json=body, headers=manager.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _import(api: TestClient, manager: Member, project_id: int, items: list[dict[str, Any]]) -> Any:
    return api.post(f"/api/v1/projects/{project_id}/items", json=items, headers=manager.headers)


def _answer_all(api: TestClient, member: Member, project_id: int, answer: dict[str, Any]) -> list[int]:
    done = []
    while True:
        lease = api.get(f"/api/v1/projects/{project_id}/next", headers=member.headers)
        if lease.status_code == 204:
            return done
        assert lease.status_code == 200, lease.text
        body = lease.json()
        submitted = api.post(
            f"/api/v1/assignments/{body['assignment_id']}/submit",
            json={"answers": answer, "duration_ms": 1200},
            headers=member.headers,
        )
        assert submitted.status_code == 201, submitted.text
        done.append(body["item"]["id"])


def test_overlap_is_reached_exactly_and_nobody_gets_an_item_twice(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager, overlap=2)
    assert _import(api, manager, project_id, text_items(5)).status_code == 201
    annotators = [make_member(hub, org) for _ in range(3)]
    seen = [_answer_all(api, a, project_id, {"sentiment": "positive"}) for a in annotators]
    for items in seen:
        assert len(items) == len(set(items))
    assert sum(len(s) for s in seen) == 10  # 5 items x overlap 2, never more
    assert len(seen[0]) == 5 and len(seen[1]) == 5 and seen[2] == []
    counts = api.get(f"/api/v1/projects/{project_id}", headers=manager.headers).json()["counts"]
    assert counts == {
        "items": 5,
        "gold": 0,
        "annotations": 10,
        "complete": 5,
        "waiting": 0,
        "left": 0,
        "done": 0,
        "leased": 0,
    }


def test_next_returns_the_lease_shape_and_priority_order(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager)
    items = text_items(3)
    items[2]["priority"] = 10
    _import(api, manager, project_id, items)
    annotator = make_member(hub, org)
    body = api.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers).json()
    assert set(body) == {
        "assignment_id",
        "item",
        "questions",
        "expires_at",
        "server_time",
        "lease_seconds",
    }
    assert body["item"]["data"] == {"text": "message number 2"}
    assert body["questions"][0]["name"] == "sentiment"
    assert "gold" not in body["item"]


def test_a_lease_says_the_time_left_by_the_servers_clock(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager)
    _import(api, manager, project_id, text_items(3))
    annotator = make_member(hub, org)
    url = f"/api/v1/projects/{project_id}/next"
    first = api.get(url, headers=annotator.headers).json()
    left = datetime.fromisoformat(first["expires_at"]) - datetime.fromisoformat(first["server_time"])
    assert left == timedelta(seconds=first["lease_seconds"])  # the project's lease, to the microsecond
    # A lease handed out again (at the lease limit) has less left, never more than the lease.
    api.get(url, headers=annotator.headers)
    again = api.get(url, headers=annotator.headers).json()
    assert again["assignment_id"] == first["assignment_id"]
    left = datetime.fromisoformat(again["expires_at"]) - datetime.fromisoformat(again["server_time"])
    assert timedelta(0) < left <= timedelta(seconds=again["lease_seconds"])
    assert again["server_time"] >= first["server_time"]


def test_at_most_two_leases_then_the_oldest_is_returned_again(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager)
    _import(api, manager, project_id, text_items(5))
    annotator = make_member(hub, org)
    first = api.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers).json()
    second = api.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers).json()
    third = api.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers).json()
    assert first["assignment_id"] != second["assignment_id"]
    assert third["assignment_id"] == first["assignment_id"]


def test_skip_releases_the_item_to_others_but_not_back_to_the_skipper(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager)
    _import(api, manager, project_id, text_items(1))
    alice, bob = make_member(hub, org), make_member(hub, org)
    lease = api.get(f"/api/v1/projects/{project_id}/next", headers=alice.headers).json()
    assert api.get(f"/api/v1/projects/{project_id}/next", headers=bob.headers).status_code == 204
    assert api.post(f"/api/v1/assignments/{lease['assignment_id']}/skip", headers=alice.headers).json() == {
        "ok": True
    }
    assert api.get(f"/api/v1/projects/{project_id}/next", headers=alice.headers).status_code == 204
    assert api.get(f"/api/v1/projects/{project_id}/next", headers=bob.headers).status_code == 200
    submit = api.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        json={"answers": {"sentiment": "neutral"}},
        headers=alice.headers,
    )
    assert submit.status_code == 409


def test_submit_is_exactly_once_with_an_idempotency_key(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager)
    _import(api, manager, project_id, text_items(2))
    annotator = make_member(hub, org)
    lease = api.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers).json()
    url = f"/api/v1/assignments/{lease['assignment_id']}/submit"
    headers = {**annotator.headers, "Idempotency-Key": "k-1"}
    body = {"answers": {"sentiment": "negative"}, "duration_ms": 900}
    first = api.post(url, json=body, headers=headers)
    retry = api.post(url, json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert retry.headers.get("idempotent-replayed") == "true"
    changed = api.post(url, json={"answers": {"sentiment": "positive"}}, headers=headers)
    assert changed.status_code == 422
    assert "Idempotency-Key" in changed.json()["error"]
    no_key = api.post(url, json={"answers": {"sentiment": "positive"}}, headers=annotator.headers)
    assert no_key.status_code == 409
    item = api.get(f"/api/v1/items/{lease['item']['id']}", headers=manager.headers).json()
    assert [a["answers"] for a in item["annotations"]] == [{"sentiment": "negative"}]


@pytest.mark.parametrize(
    ("answers", "loc", "fragment"),
    [
        ({"overall": 7, "helpful": 4}, "overall", "7"),
        ({"overall": -1, "helpful": 0}, "helpful", "0"),
        ({"overall": 1}, "helpful", "required"),
        ({"overall": 1, "helpful": 3, "bogus": 1}, "bogus", "bogus"),
    ],
)
def test_invalid_answers_are_422_naming_question_and_value(
    hub: Assay, api: TestClient, answers: dict[str, Any], loc: str, fragment: str
) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager, schema=PREFERENCE_SCHEMA)
    _import(api, manager, project_id, preference_items(1))
    annotator = make_member(hub, org)
    lease = api.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers).json()
    response = api.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        json={"answers": answers},
        headers=annotator.headers,
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert any(loc in e["loc"] for e in body["errors"]), body
    assert fragment in body["error"] or any(fragment in e["msg"] for e in body["errors"]), body


def test_responses_are_shuffled_per_assignment_and_the_order_recorded(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager, schema=PREFERENCE_SCHEMA, overlap=1)
    _import(api, manager, project_id, preference_items(40))
    annotator = make_member(hub, org)
    orders = set()
    for _ in range(40):
        body = api.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers).json()
        orders.add(tuple(body["item"]["display_order"]["responses"]))
        api.post(
            f"/api/v1/assignments/{body['assignment_id']}/submit",
            json={"answers": {"overall": 1, "helpful": 5}},
            headers=annotator.headers,
        )
    assert orders == {("a", "b"), ("b", "a")}


def test_someone_elses_assignment_is_404(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager)
    _import(api, manager, project_id, text_items(1))
    alice, bob = make_member(hub, org), make_member(hub, org)
    outsider = make_member(hub, make_org(hub), role="owner")
    lease = api.get(f"/api/v1/projects/{project_id}/next", headers=alice.headers).json()
    for who in (bob, outsider):
        response = api.post(
            f"/api/v1/assignments/{lease['assignment_id']}/submit",
            json={"answers": {"sentiment": "neutral"}},
            headers=who.headers,
        )
        assert response.status_code == 404
        assert (
            api.post(f"/api/v1/assignments/{lease['assignment_id']}/skip", headers=who.headers).status_code
            == 404
        )
    assert api.get(f"/api/v1/items/{lease['item']['id']}", headers=outsider.headers).status_code == 404
    assert api.get(f"/api/v1/items/{lease['item']['id']}", headers=alice.headers).status_code == 403


def test_gold_items_are_mixed_in_and_their_answers_never_reach_annotators(
    hub: Assay, api: TestClient
) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager, gold_rate=0.5, overlap=1)
    items = text_items(20)
    for item in items[:10]:
        item["gold"] = {"sentiment": "positive"}
    result = _import(api, manager, project_id, items).json()
    assert result["imported"] == 20 and result["gold"] == 10
    annotator = make_member(hub, org)
    leases = []
    while (
        lease := api.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers)
    ).status_code == 200:
        body = lease.json()
        assert set(body["item"]) == {"id", "data"}  # nothing tells a gold item apart
        assert "positive" not in orjson.dumps(body["item"]).decode()
        leases.append(body)
        api.post(
            f"/api/v1/assignments/{body['assignment_id']}/submit",
            json={"answers": {"sentiment": "neutral"}},
            headers=annotator.headers,
        )
    rows = [
        orjson.loads(line)
        for line in api.get(
            f"/api/v1/projects/{project_id}/export", headers=manager.headers
        ).content.splitlines()
    ]
    gold_answers = [len(r["annotations"]) for r in rows if r["gold"]]
    normal_answers = [len(r["annotations"]) for r in rows if not r["gold"]]
    assert normal_answers == [1] * 10  # all real work done, at overlap 1
    assert max(gold_answers) == 1  # each gold item at most once per annotator
    assert 2 <= sum(gold_answers) <= 10  # mixed in at about half the leases (seeded draw)
    assert len({b["item"]["id"] for b in leases}) == len(leases)


def test_an_annotator_revises_while_the_lease_holds_and_the_original_is_kept(
    hub: Assay, api: TestClient
) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager)
    _import(api, manager, project_id, text_items(1))
    annotator = make_member(hub, org)
    lease = api.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers).json()
    first = api.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        json={"answers": {"sentiment": "negative"}},
        headers=annotator.headers,
    ).json()
    url = f"/api/v1/annotations/{first['id']}/revise"
    bad = api.post(url, json={"answers": {"sentiment": "angry"}}, headers=annotator.headers)
    assert bad.status_code == 422 and "angry" in bad.json()["error"]
    other = make_member(hub, org)
    assert api.post(url, json={"answers": {"sentiment": "neutral"}}, headers=other.headers).status_code == 404
    revised = api.post(url, json={"answers": {"sentiment": "neutral"}}, headers=annotator.headers)
    assert revised.status_code == 201, revised.text
    item = api.get(f"/api/v1/items/{lease['item']['id']}", headers=manager.headers).json()
    (annotation,) = item["annotations"]
    assert annotation["answers"] == {"sentiment": "neutral"}
    assert annotation["original_answers"] == {"sentiment": "negative"}
    rows = [
        orjson.loads(x)
        for x in api.get(
            f"/api/v1/projects/{project_id}/export", headers=manager.headers
        ).content.splitlines()
    ]
    assert rows[0]["labels"]["sentiment"]["value"] == "neutral"
    _expire(hub)
    late = api.post(url, json={"answers": {"sentiment": "positive"}}, headers=annotator.headers)
    assert late.status_code == 409 and "lease" in late.json()["error"]


def _expire(hub: Assay) -> None:

    from assay.storage.people import now
    from assay.storage.tables import assignments

    with hub.db.write() as conn:
        conn.execute(assignments.update().values(expires_at=now() - timedelta(seconds=1)))


def test_paste_observations_are_kept_with_the_answer_and_leases_extend(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    project_id = _project(api, manager, schema=PREFERENCE_SCHEMA)
    _import(api, manager, project_id, preference_items(1))
    annotator = make_member(hub, org)
    lease = api.get(f"/api/v1/projects/{project_id}/next", headers=annotator.headers).json()
    extended = api.post(f"/api/v1/assignments/{lease['assignment_id']}/extend", headers=annotator.headers)
    assert extended.status_code == 200 and extended.json()["expires_at"] >= lease["expires_at"]
    client = {"text": {"why": {"pastes": 1, "pasted_chars": 120}}}
    too_big = {"text": {"why": {"junk": "x" * 9000}}}
    url = f"/api/v1/assignments/{lease['assignment_id']}/submit"
    answers = {"overall": 1, "helpful": 5, "why": "pasted"}
    assert (
        api.post(url, json={"answers": answers, "client": too_big}, headers=annotator.headers).status_code
        == 422
    )
    assert (
        api.post(url, json={"answers": answers, "client": client}, headers=annotator.headers).status_code
        == 201
    )
    item = api.get(f"/api/v1/items/{lease['item']['id']}", headers=manager.headers).json()
    assert item["annotations"][0]["client"] == client
    gone = api.post(f"/api/v1/assignments/{lease['assignment_id']}/extend", headers=annotator.headers)
    assert gone.status_code == 409
