"""Model connections over the API: managers only, per organisation, hosts the operator allows, and
an API key that is sealed at rest and never comes back out."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from assay import logs
from assay.app import Assay
from assay.storage.tables import audit_events, model_connections
from assay.workflows import jobs
from tests.factories import make_member, make_org
from tests.llm.test_client import Scripted

TEXT = logs.Formatter("text")
JSON = logs.Formatter("json")

KEY = "sk-live-7f3c0d2e9a1b44c5"
BODY: dict[str, Any] = {
    "name": "local-a",
    "base_url": "http://127.0.0.1:9/v1",
    "model": "smollm2",
    "api_key": KEY,
    "params": {"temperature": 0.7, "max_tokens": 64, "concurrency": 2},
    "price": {"input_per_mtok": 0.5, "output_per_mtok": 1.5},
}


def _allow(hub: Assay, *entries: str) -> None:
    hub.config = dataclasses.replace(hub.config, secret_key="k" * 64, model_hosts=entries)


def test_a_connection_is_added_listed_and_deleted_and_its_key_never_returned(
    hub: Assay, api: TestClient
) -> None:
    _allow(hub, "127.0.0.0/8")
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    r = api.post("/api/v1/models", headers=manager.headers, json=BODY)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["has_key"] is True and "api_key" not in made
    assert made["params"] == BODY["params"] and made["price"] == BODY["price"]
    listed = api.get("/api/v1/models", headers=manager.headers)
    assert listed.status_code == 200
    assert [m["name"] for m in listed.json()["models"]] == ["local-a"]
    assert KEY not in listed.text and KEY not in r.text
    # Sealed at rest: the stored value is not the key and holds no part of it.
    with hub.db.read() as conn:
        stored = conn.execute(sa.select(model_connections.c.api_key)).scalar_one()
        audits = conn.execute(sa.select(audit_events.c.detail)).scalars().all()
    assert stored.startswith("v1:") and KEY not in stored and KEY[-8:] not in stored
    assert all(KEY not in str(a) for a in audits)
    # The same name twice is a conflict; deleting works once, then 404.
    assert api.post("/api/v1/models", headers=manager.headers, json=BODY).status_code == 409
    assert api.delete(f"/api/v1/models/{made['id']}", headers=manager.headers).status_code == 204
    assert api.delete(f"/api/v1/models/{made['id']}", headers=manager.headers).status_code == 404
    assert api.get("/api/v1/models", headers=manager.headers).json()["models"] == []


def test_hosts_the_operator_did_not_list_are_refused_naming_the_field(hub: Assay, api: TestClient) -> None:
    _allow(hub, "api.example.com")
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    for url in (
        "http://169.254.169.254/latest",
        "http://127.0.0.1:5432/v1",
        "http://api.example.com@127.0.0.1/v1",
        "ftp://api.example.com/v1",
    ):
        r = api.post("/api/v1/models", headers=manager.headers, json={**BODY, "base_url": url})
        assert r.status_code == 422, (url, r.text)
        assert r.json()["errors"][0]["loc"] == "base_url"
    assert (
        api.post(
            "/api/v1/models", headers=manager.headers, json={**BODY, "base_url": "https://api.example.com/v1"}
        ).status_code
        == 201
    )


def test_bad_bodies_are_422_naming_the_field(hub: Assay, api: TestClient) -> None:
    _allow(hub, "127.0.0.1")
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    cases = [
        ({**BODY, "params": {"temperature": "hot"}}, "params.temperature"),
        ({**BODY, "params": {"logit_bias": {}}}, "params.logit_bias"),
        ({**BODY, "params": {"concurrency": 0}}, "params.concurrency"),
        ({**BODY, "price": {"input_per_mtok": -1}}, "price.input_per_mtok"),
        ({**BODY, "price": {"output_per_mtok": "cheap"}}, "price.output_per_mtok"),
        ({**BODY, "price": {"per_call": 1}}, "price"),
        ({**BODY, "name": ""}, "name"),
        ({**BODY, "name": "a\nb"}, "name"),
        ({**BODY, "colour": "red"}, "colour"),
        ({k: v for k, v in BODY.items() if k != "model"}, "model"),
    ]
    for body, loc in cases:
        r = api.post("/api/v1/models", headers=manager.headers, json=body)
        assert r.status_code == 422, (loc, r.text)
        assert r.json()["errors"][0]["loc"] == loc, r.text
    assert api.get("/api/v1/models", headers=manager.headers).json()["models"] == []


def test_only_managers_of_the_organisation_see_its_connections(hub: Assay, api: TestClient) -> None:
    _allow(hub, "127.0.0.1")
    org, other = make_org(hub), make_org(hub)
    manager = make_member(hub, org, role="manager")
    stranger = make_member(hub, other, role="owner")
    annotator = make_member(hub, org, role="annotator")
    reviewer = make_member(hub, org, role="reviewer")
    made = api.post("/api/v1/models", headers=manager.headers, json=BODY).json()
    assert api.get("/api/v1/models", headers=stranger.headers).json()["models"] == []
    assert api.delete(f"/api/v1/models/{made['id']}", headers=stranger.headers).status_code == 404
    for who in (annotator, reviewer):
        assert api.get("/api/v1/models", headers=who.headers).status_code == 403
        assert api.post("/api/v1/models", headers=who.headers, json={**BODY, "name": "x"}).status_code == 403
        assert api.delete(f"/api/v1/models/{made['id']}", headers=who.headers).status_code == 403
    assert [m["name"] for m in api.get("/api/v1/models", headers=manager.headers).json()["models"]] == [
        "local-a"
    ]
    # A job id of another organisation is as missing as one that never was.
    assert api.get("/api/v1/jobs/1", headers=stranger.headers).status_code == 404
    with hub.db.read() as conn:
        denied = conn.execute(
            sa.select(audit_events.c.action, audit_events.c.status).where(audit_events.c.allowed.is_(False))
        ).all()
    assert ("model.delete", 404) in [tuple(d) for d in denied]
    assert ("GET /models", 403) in [tuple(d) for d in denied]


def test_without_a_secret_key_no_api_key_is_stored(hub: Assay, api: TestClient) -> None:
    hub.config = dataclasses.replace(hub.config, secret_key=None, model_hosts=("127.0.0.1",))
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    r = api.post("/api/v1/models", headers=manager.headers, json=BODY)
    assert r.status_code == 503 and "ASSAY_SECRET_KEY" in r.json()["error"]
    # Without a key to seal, a connection without an API key is still fine.
    keyless = {k: v for k, v in BODY.items() if k != "api_key"}
    assert api.post("/api/v1/models", headers=manager.headers, json=keyless).status_code == 201


def test_the_key_goes_to_the_model_and_is_never_written_anywhere_else(
    hub: Assay, api: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    model = Scripted()
    try:
        _allow(hub, "127.0.0.1")
        hub.config = dataclasses.replace(hub.config, model_retries=0)
        manager = make_member(hub, make_org(hub), role="manager")
        body = {**BODY, "base_url": f"http://127.0.0.1:{model.port}/v1"}
        assert api.post("/api/v1/models", headers=manager.headers, json=body).status_code == 201
        schema = {
            "inputs": [
                {"name": "prompt", "kind": "text"},
                {"name": "responses", "kind": "responses", "required": False},
            ],
            "questions": [{"name": "overall", "kind": "preference", "scale": {"min": -3, "max": 3}}],
        }
        pid = api.post(
            "/api/v1/projects", headers=manager.headers, json={"name": "g", "schema": schema}
        ).json()["id"]
        records = [{"data": {"prompt": "Say hi."}}]
        assert (
            api.post(f"/api/v1/projects/{pid}/items", headers=manager.headers, json=records).status_code
            == 201
        )
        # The provider refuses the key and echoes it back, as some do.
        echo = json.dumps({"error": {"message": f"Incorrect API key provided: {KEY}"}}).encode()
        model.script = [(401, {}, echo), (401, {}, echo)]
        job_id = api.post(
            f"/api/v1/projects/{pid}/generate",
            headers=manager.headers,
            json={"models": ["local-a"], "samples": 2},
        ).json()["job_id"]
        jobs.run_pending(hub)
        job = api.get(f"/api/v1/jobs/{job_id}", headers=manager.headers)
    finally:
        model.server.shutdown()
        model.server.server_close()
    assert job.json()["state"] == "failed" and job.json()["failed"] == 2
    # The key went where it belongs: to the model, as the bearer credential ...
    sent = [{k.lower(): v for k, v in r["headers"].items()} for r in model.requests]
    assert len(sent) == 2 and all(h["authorization"] == f"Bearer {KEY}" for h in sent)
    # ... and nowhere else: not in the job, its errors, the audit trail or any log line.
    with hub.db.read() as conn:
        audits = conn.execute(sa.select(audit_events.c.detail)).scalars().all()
        stored = conn.execute(sa.text("SELECT params, errors, error, result FROM jobs")).all()
    written = "\n".join(f.format(r) for r in caplog.records for f in (TEXT, JSON))
    assert caplog.records
    for where in (job.text, str(audits), str(stored), written):
        assert KEY not in where and KEY[-8:] not in where
