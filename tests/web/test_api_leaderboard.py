"""The leaderboard API over a project's preference and ranking answers (a vendor's delivery)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from assay.app import Assay
from tests.factories import make_member, make_org

SCHEMA = {
    "inputs": [{"name": "prompt", "kind": "text"}, {"name": "responses", "kind": "responses"}],
    "questions": [
        {"name": "better", "kind": "preference", "scale": {"min": -2, "max": 2}},
        {"name": "order", "kind": "ranking", "required": False},
    ],
}


def test_the_api_ranks_the_models_of_a_projects_answers(hub: Assay, api: TestClient) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    r = api.post("/api/v1/projects", headers=manager.headers, json={"name": "lb", "schema": SCHEMA})
    pid = int(r.json()["id"])
    pairs = [("strong", "weak"), ("weak", "middle"), ("middle", "strong")]
    items = [
        {
            "external_id": f"i{k}",
            "data": {
                "prompt": f"p{k}",
                "responses": [
                    {"id": "x", "content": "one", "model": pairs[k % 3][0]},
                    {"id": "y", "content": "two", "model": pairs[k % 3][1]},
                ],
            },
        }
        for k in range(30)
    ]
    assert api.post(f"/api/v1/projects/{pid}/items", headers=manager.headers, json=items).status_code == 201
    strength = {"strong": 2, "middle": 1, "weak": 0}
    for name in ("Vendor A", "Vendor B"):
        assert (
            api.post(
                "/api/v1/workforces", headers=manager.headers, json={"name": name, "kind": "vendor"}
            ).status_code
            == 201
        )
    rows = []
    for k, item in enumerate(items):
        left, right = pairs[k % 3]
        value = -1 if strength[left] > strength[right] else 1
        rows.append(
            {
                "external_id": item["external_id"],
                "annotator": "ann-1",
                "workforce": "Vendor A",
                "answers": {"better": value},
            }
        )
        # Vendor B always prefers the right-hand response: a different board when filtered.
        rows.append(
            {
                "external_id": item["external_id"],
                "annotator": "ann-2",
                "workforce": "Vendor B",
                "answers": {"better": 2, "order": [["y"], ["x"]]},
            }
        )
    r = api.post(f"/api/v1/projects/{pid}/annotations", headers=manager.headers, json=rows)
    assert r.status_code == 201, r.text

    r = api.get(f"/api/v1/projects/{pid}/leaderboard?workforce=Vendor%20A", headers=manager.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["question"] == "better" and body["battles"] == 30
    assert [m["model"] for m in body["models"]] == ["strong", "middle", "weak"]
    assert body["models"][0]["rating"] > 1000 > body["models"][2]["rating"]
    ranking = api.get(f"/api/v1/projects/{pid}/leaderboard?question=order", headers=manager.headers).json()
    assert ranking["battles"] == 30
    csv = api.get(
        f"/api/v1/projects/{pid}/leaderboard?format=csv&workforce=Vendor%20A", headers=manager.headers
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "rank,model,rating,low,high,battles,wins,ties"
    assert csv.text.splitlines()[1].split(",")[1] == "strong"
    bad = api.get(f"/api/v1/projects/{pid}/leaderboard?question=prompt", headers=manager.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "question"
    annotator = make_member(hub, manager.org)
    assert api.get(f"/api/v1/projects/{pid}/leaderboard", headers=annotator.headers).status_code == 403
