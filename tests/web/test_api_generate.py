"""Response generation with a real model behind a real OpenAI-compatible server (tests/model_server.py):
items wait for their responses, a job fills them with provenance, failures are per item, and a
second run asks only for what is missing."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.storage.tables import items
from assay.workflows import jobs
from tests.factories import Member, make_member, make_org
from tests.model_server import MODEL, free_port

SCHEMA: dict[str, Any] = {
    "inputs": [
        {"name": "prompt", "kind": "text"},
        {"name": "responses", "kind": "responses", "required": False},
    ],
    "questions": [{"name": "overall", "kind": "preference", "scale": {"min": -3, "max": 3}}],
}
PROMPTS = ["Name a colour.", "Say hi.", "Count to three.", "Name a fruit."]


def _setup(hub: Assay, api: TestClient, base_url: str, *, retries: int = 1) -> tuple[Member, int]:
    hub.config = dataclasses.replace(
        hub.config, secret_key="k" * 64, model_hosts=("127.0.0.1",), model_retries=retries, model_timeout_s=60
    )
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    for name, temperature in (("alpha", 0.0), ("beta", 0.9)):
        r = api.post(
            "/api/v1/models",
            headers=manager.headers,
            json={
                "name": name,
                "base_url": base_url,
                "model": MODEL,
                "params": {"temperature": temperature, "max_tokens": 12, "seed": 7},
                "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
            },
        )
        assert r.status_code == 201, r.text
    r = api.post("/api/v1/projects", headers=manager.headers, json={"name": "gen", "schema": SCHEMA})
    pid = int(r.json()["id"])
    records = [{"data": {"prompt": p}, "external_id": f"g-{i}"} for i, p in enumerate(PROMPTS)]
    records.append(
        {
            "data": {
                "prompt": "Given already.",
                "responses": [{"id": "x", "content": "one"}, {"id": "y", "content": "two"}],
            },
            "external_id": "given",
        }
    )
    assert api.post(f"/api/v1/projects/{pid}/items", headers=manager.headers, json=records).status_code == 201
    return manager, pid


def _responses(hub: Assay, pid: int) -> dict[str, Any]:
    with hub.db.read() as conn:
        rows = conn.execute(
            sa.select(items.c.external_id, items.c.data, items.c.waiting, items.c.open).where(
                items.c.project_id == pid
            )
        ).all()
    return {r.external_id: (r.data.get("responses"), r.waiting, r.open) for r in rows}


def test_generation_fills_the_waiting_items_with_provenance(
    hub: Assay, api: TestClient, model_server: Any
) -> None:
    manager, pid = _setup(hub, api, model_server.base_url)
    annotator = make_member(hub, make_org_of(manager), role="annotator")
    counts = api.get(f"/api/v1/projects/{pid}", headers=manager.headers).json()["counts"]
    assert counts["waiting"] == 4 and counts["complete"] == 0
    # Waiting items are offered to nobody: only the item that came with its responses is served.
    lease = api.get(f"/api/v1/projects/{pid}/next", headers=annotator.headers)
    assert lease.status_code == 200 and lease.json()["item"]["data"]["prompt"] == "Given already."
    assert api.get(f"/api/v1/projects/{pid}/next", headers=annotator.headers).status_code == 204

    r = api.post(
        f"/api/v1/projects/{pid}/generate", headers=manager.headers, json={"models": ["alpha", "beta"]}
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    queued = api.get(f"/api/v1/jobs/{job_id}", headers=manager.headers).json()
    assert queued["state"] == "queued" and queued["total"] == 4 and queued["done"] == 0
    # Asking again while it is queued answers the same job.
    again = api.post(
        f"/api/v1/projects/{pid}/generate", headers=manager.headers, json={"models": ["alpha", "beta"]}
    )
    assert again.json()["job_id"] == job_id
    other = api.post(
        f"/api/v1/projects/{pid}/generate", headers=manager.headers, json={"models": ["beta", "alpha"]}
    )
    assert other.status_code == 409

    ran = jobs.run_pending(hub)
    assert [d["state"] for d in ran if d["kind"] == "generate"] == ["done"], ran
    job = api.get(f"/api/v1/jobs/{job_id}", headers=manager.headers).json()
    assert (job["state"], job["done"], job["total"], job["failed"], job["errors"]) == ("done", 4, 4, 0, [])

    found = _responses(hub, pid)
    assert found["given"][0] == [{"id": "x", "content": "one"}, {"id": "y", "content": "two"}]
    for i in range(len(PROMPTS)):
        responses, waiting, is_open = found[f"g-{i}"]
        assert not waiting and is_open
        assert [r["id"] for r in responses] == ["alpha", "beta"]
        for r in responses:
            assert r["model"] in ("alpha", "beta") and r["sample"] == 1
            assert isinstance(r["content"], str)
            assert r["tokens_in"] > 0 and 0 < r["tokens_out"] <= 12
            assert r["cost"] == round((r["tokens_in"] * 1.0 + r["tokens_out"] * 2.0) / 1e6, 8)
            assert r["latency_ms"] >= 0
            assert r["params"]["max_tokens"] == 12 and "concurrency" not in r["params"]
    # Now they are served, and the export carries the generated pair.
    served = {
        api.get(f"/api/v1/projects/{pid}/next", headers=annotator.headers).status_code for _ in range(2)
    }
    assert served == {200}
    counts = api.get(f"/api/v1/projects/{pid}", headers=manager.headers).json()["counts"]
    assert counts["waiting"] == 0
    # Nothing waits any more: a new job has nothing to do.
    r = api.post(
        f"/api/v1/projects/{pid}/generate", headers=manager.headers, json={"models": ["alpha", "beta"]}
    )
    jobs.run_pending(hub)
    assert api.get(f"/api/v1/jobs/{r.json()['job_id']}", headers=manager.headers).json()["total"] == 0


def make_org_of(member: Member) -> str:
    return member.org


def test_a_failing_model_is_reported_per_item_and_a_second_run_asks_only_for_what_is_missing(
    hub: Assay, api: TestClient, model_server: Any
) -> None:
    manager, pid = _setup(hub, api, model_server.base_url, retries=0)
    # beta points at a port where nothing listens.
    beta = next(
        m for m in api.get("/api/v1/models", headers=manager.headers).json()["models"] if m["name"] == "beta"
    )
    assert api.delete(f"/api/v1/models/{beta['id']}", headers=manager.headers).status_code == 204
    down = f"http://127.0.0.1:{free_port()}/v1"
    r = api.post(
        "/api/v1/models", headers=manager.headers, json={"name": "beta", "base_url": down, "model": MODEL}
    )
    assert r.status_code == 201
    job_id = api.post(
        f"/api/v1/projects/{pid}/generate", headers=manager.headers, json={"models": ["alpha", "beta"]}
    ).json()["job_id"]
    jobs.run_pending(hub)
    job = api.get(f"/api/v1/jobs/{job_id}", headers=manager.headers).json()
    assert job["state"] == "done" and job["failed"] == 4
    assert {e["model"] for e in job["errors"]} == {"beta"}
    assert all("unreachable" in e["error"] for e in job["errors"])
    assert sorted(e["external_id"] for e in job["errors"]) == [f"g-{i}" for i in range(4)]
    first = _responses(hub, pid)
    for i in range(4):
        responses, waiting, is_open = first[f"g-{i}"]
        assert [r["id"] for r in responses] == ["alpha"] and waiting and not is_open

    # beta comes back; a second job asks only beta, and alpha's responses stay exactly as they were.
    beta = next(
        m for m in api.get("/api/v1/models", headers=manager.headers).json()["models"] if m["name"] == "beta"
    )
    api.delete(f"/api/v1/models/{beta['id']}", headers=manager.headers)
    api.post(
        "/api/v1/models",
        headers=manager.headers,
        json={"name": "beta", "base_url": model_server.base_url, "model": MODEL, "params": {"max_tokens": 8}},
    )
    job_id = api.post(
        f"/api/v1/projects/{pid}/generate", headers=manager.headers, json={"models": ["alpha", "beta"]}
    ).json()["job_id"]
    jobs.run_pending(hub)
    job = api.get(f"/api/v1/jobs/{job_id}", headers=manager.headers).json()
    assert (job["state"], job["failed"]) == ("done", 0)
    second = _responses(hub, pid)
    for i in range(4):
        responses, waiting, is_open = second[f"g-{i}"]
        assert [r["id"] for r in responses] == ["alpha", "beta"] and not waiting and is_open
        assert orjson.dumps(responses[0]) == orjson.dumps(first[f"g-{i}"][0][0])


def test_every_model_down_fails_the_job_and_the_items_keep_waiting(
    hub: Assay, api: TestClient, model_server: Any
) -> None:
    manager, pid = _setup(hub, api, f"http://127.0.0.1:{free_port()}/v1", retries=0)
    job_id = api.post(
        f"/api/v1/projects/{pid}/generate", headers=manager.headers, json={"models": ["alpha", "beta"]}
    ).json()["job_id"]
    jobs.run_pending(hub)
    job = api.get(f"/api/v1/jobs/{job_id}", headers=manager.headers).json()
    assert job["state"] == "failed" and "no response was generated" in job["error"]
    assert job["failed"] == 8 and len(job["errors"]) == 8
    assert all(waiting for _, waiting, _ in (v for k, v in _responses(hub, pid).items() if k != "given"))


def test_bad_generation_requests_are_refused_naming_the_field(hub: Assay, api: TestClient) -> None:
    manager, pid = _setup(hub, api, "http://127.0.0.1:9/v1")
    org = manager.org
    annotator = make_member(hub, org, role="annotator")
    stranger = make_member(hub, make_org(hub), role="owner")
    url = f"/api/v1/projects/{pid}/generate"
    cases = [
        ({"models": ["nobody", "alpha"]}, 422, "models[0]"),
        ({"models": ["alpha", "alpha"]}, 422, "models"),
        ({"models": ["alpha"]}, 422, "models"),  # a preference compares two
        ({"models": ["alpha", "beta"], "samples": 2}, 422, "models"),
        ({"models": ["alpha", "beta"], "samples": 0}, 422, "samples"),
        ({"models": ["alpha", "beta"], "samples": True}, 422, "samples"),
        ({"models": "alpha"}, 422, "models"),
        ({"models": ["alpha", "beta"], "temperature": 1}, 422, "temperature"),
    ]
    for body, status, loc in cases:
        r = api.post(url, headers=manager.headers, json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["errors"][0]["loc"] == loc, (body, r.text)
    assert api.post(url, headers=annotator.headers, json={"models": ["alpha", "beta"]}).status_code == 403
    assert api.post(url, headers=stranger.headers, json={"models": ["alpha", "beta"]}).status_code == 404
    job_id = api.post(url, headers=manager.headers, json={"models": ["alpha", "beta"]}).json()["job_id"]
    assert api.get(f"/api/v1/jobs/{job_id}", headers=stranger.headers).status_code == 404
    assert api.get(f"/api/v1/jobs/{job_id}", headers=annotator.headers).status_code == 403
    # A project with nothing to generate into.
    plain = {
        "inputs": [{"name": "text", "kind": "text"}],
        "questions": [{"name": "c", "kind": "choice", "options": ["a", "b"]}],
    }
    other = api.post(
        "/api/v1/projects", headers=manager.headers, json={"name": "plain", "schema": plain}
    ).json()["id"]
    r = api.post(
        f"/api/v1/projects/{other}/generate", headers=manager.headers, json={"models": ["alpha", "beta"]}
    )
    assert r.status_code == 422 and "no responses input" in r.json()["error"]


def test_gold_on_an_item_still_waiting_is_refused_at_import(hub: Assay, api: TestClient) -> None:
    manager, pid = _setup(hub, api, "http://127.0.0.1:9/v1")
    r = api.post(
        f"/api/v1/projects/{pid}/items",
        headers=manager.headers,
        json=[{"data": {"prompt": "p"}, "gold": {"overall": 1}}],
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"].endswith("gold"), r.text
