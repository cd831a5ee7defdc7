from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from assay.app import Assay
from assay.storage import audit
from tests.factories import PREFERENCE_SCHEMA, TEXT_SCHEMA, make_member, make_org


def _create(api: TestClient, headers: dict[str, str], name: str = "p", **extra: Any) -> Any:
    body = {"name": name, "schema": TEXT_SCHEMA, "settings": {"overlap": 2}, **extra}
    return api.post("/api/v1/projects", json=body, headers=headers)


def test_manager_creates_lists_and_shows_a_project(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    created = _create(api, manager.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "p"
    assert body["settings"]["overlap"] == 2
    assert [q["name"] for q in body["schema"]["questions"]] == ["sentiment"]

    listed = api.get("/api/v1/projects", headers=manager.headers).json()
    assert [p["id"] for p in listed["projects"]] == [body["id"]]
    shown = api.get(f"/api/v1/projects/{body['id']}", headers=manager.headers).json()
    assert shown["counts"]["items"] == 0


def test_preference_project_from_the_design_document(hub: Assay, api: TestClient) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    body = {
        "name": "helpfulness-v1",
        "schema": PREFERENCE_SCHEMA,
        "settings": {"overlap": 3, "gold_rate": 0.1, "lease_seconds": 900},
    }
    response = api.post("/api/v1/projects", json=body, headers=manager.headers)
    assert response.status_code == 201, response.text
    assert response.json()["settings"]["gold_rate"] == 0.1


def test_duplicate_project_name_is_a_conflict(hub: Assay, api: TestClient) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    assert _create(api, manager.headers).status_code == 201
    again = _create(api, manager.headers)
    assert again.status_code == 409
    assert again.json() == {
        "ok": False,
        "error": "a project named 'p' already exists in this organisation",
        "errors": [],
        "status": 409,
    }


def test_bad_schema_names_the_path(hub: Assay, api: TestClient) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    schema = {
        "inputs": [{"name": "prompt", "kind": "text"}, {"name": "responses", "kind": "responses"}],
        "questions": [{"name": "overall", "kind": "preference", "scale": {"min": -3, "max": 2}}],
    }
    response = api.post("/api/v1/projects", json={"name": "x", "schema": schema}, headers=manager.headers)
    assert response.status_code == 422
    body = response.json()
    assert body["ok"] is False and body["status"] == 422
    assert any(e["loc"].startswith("questions[0].scale") for e in body["errors"]), body


def test_annotator_may_not_create_projects_and_the_denial_is_audited(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    annotator = make_member(hub, org, role="annotator")
    response = _create(api, annotator.headers)
    assert response.status_code == 403
    with hub.db.read() as conn:
        events = audit.events(conn, org_id=annotator.actor(hub).org_id)
    # Refused by the route's declared role, before the body was read.
    assert any(e.action == "POST /api/v1/projects" and not e.allowed and e.status == 403 for e in events)


def test_other_organisation_gets_404_exactly_like_a_missing_project(hub: Assay, api: TestClient) -> None:
    mine = make_member(hub, make_org(hub), role="manager")
    theirs = make_member(hub, make_org(hub), role="owner")
    project_id = _create(api, mine.headers).json()["id"]
    foreign = api.get(f"/api/v1/projects/{project_id}", headers=theirs.headers)
    missing = api.get("/api/v1/projects/999999", headers=theirs.headers)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"] == f"project {project_id} does not exist"
    assert api.get("/api/v1/projects", headers=theirs.headers).json()["projects"] == []
    with hub.db.read() as conn:
        events = audit.events(conn, org_id=theirs.actor(hub).org_id)
    assert any(e.object_id == str(project_id) and e.status == 404 for e in events)


def test_vendor_annotator_sees_only_projects_shared_with_their_workforce(hub: Assay, api: TestClient) -> None:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    vendor_a = make_member(hub, org, workforce="Vendor A", vendor=True)
    vendor_b = make_member(hub, org, workforce="Vendor B", vendor=True)
    shared = _create(api, manager.headers, name="a-only", settings={"workforces": ["Vendor A"]}).json()["id"]
    open_to_all = _create(api, manager.headers, name="open").json()["id"]
    assert {p["id"] for p in api.get("/api/v1/projects", headers=vendor_a.headers).json()["projects"]} == {
        shared,
        open_to_all,
    }
    assert {p["id"] for p in api.get("/api/v1/projects", headers=vendor_b.headers).json()["projects"]} == {
        open_to_all
    }
    assert api.get(f"/api/v1/projects/{shared}", headers=vendor_b.headers).status_code == 404
    assert api.get(f"/api/v1/projects/{shared}/next", headers=vendor_b.headers).status_code == 404


def test_missing_unknown_and_revoked_tokens_get_401(hub: Assay, api: TestClient) -> None:
    from assay.workflows import admin

    org = make_org(hub)
    member = make_member(hub, org, role="manager")
    assert api.get("/api/v1/projects").status_code == 401
    bad = api.get("/api/v1/projects", headers={"Authorization": "Bearer assay_nope"})
    assert bad.status_code == 401 and bad.json()["status"] == 401
    assert api.get("/api/v1/projects", headers=member.headers).status_code == 200
    with hub.db.read() as conn:
        from assay.storage.tables import api_tokens

        token_id = conn.execute(api_tokens.select()).first().id  # type: ignore[union-attr]
    admin.revoke_token(hub, org=org, token_id=token_id)
    assert api.get("/api/v1/projects", headers=member.headers).status_code == 401


def test_error_shape_for_unknown_routes_methods_and_bodies(hub: Assay, api: TestClient) -> None:
    member = make_member(hub, make_org(hub), role="manager")
    for response in (
        api.get("/api/v1/nothing-here", headers=member.headers),
        api.delete("/api/v1/projects", headers=member.headers),
        api.post(
            "/api/v1/projects",
            content=b"{not json",
            headers={**member.headers, "Content-Type": "application/json"},
        ),
        api.post("/api/v1/projects", json={"schema": TEXT_SCHEMA}, headers=member.headers),
        api.get("/api/v1/projects/abc", headers=member.headers),
    ):
        body = response.json()
        assert set(body) == {"ok", "error", "errors", "status"}, body
        assert body["ok"] is False and body["status"] == response.status_code
        assert response.status_code in (404, 405, 422)


def test_security_headers_are_sent(hub: Assay, api: TestClient) -> None:
    response = api.get("/")
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp


def test_openapi_spec_is_served(hub: Assay, api: TestClient) -> None:
    spec = api.get("/api/v1/openapi.json").json()
    assert "/api/v1/projects/{project_id}/next" in spec["paths"]


def test_an_id_beyond_64_bits_is_invalid_input_not_a_crash(hub: Assay, api: TestClient) -> None:
    """Found by the API fuzzer: such an id reached the database driver, which cannot hold it (500)."""
    manager = make_member(hub, make_org(hub), role="manager")
    for url in (
        "/api/v1/projects/9223372036854775808",
        "/api/v1/projects/-9223372036854775809/quality",
        "/api/v1/items/99999999999999999999999",
    ):
        r = api.get(url, headers=manager.headers)
        assert r.status_code == 422, (url, r.text)
        assert r.json()["errors"][0]["loc"] in ("path.project_id", "path.item_id")
    r = api.delete("/api/v1/projects/1/pauses/9223372036854775808", headers=manager.headers)
    assert r.status_code == 422 and "pause_id" in r.json()["error"]
    assert api.get("/api/v1/projects/9223372036854775807", headers=manager.headers).status_code == 404


def test_raising_the_overlap_reopens_items_and_a_new_target_unsettles_them(
    hub: Assay, api: TestClient
) -> None:
    """Overlap 1, one answer, raise to 3: the next annotators get the item (its stored open flag was
    never recomputed, so it was stranded).  Any settings change leaves item state consistent."""
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    first, second, third = (make_member(hub, org) for _ in range(3))
    created = api.post(
        "/api/v1/projects",
        json={"name": "grow", "schema": TEXT_SCHEMA, "settings": {"overlap": 1}},
        headers=manager.headers,
    )
    pid = created.json()["id"]
    api.post(f"/api/v1/projects/{pid}/items", json=[{"data": {"text": "only"}}], headers=manager.headers)
    lease = api.get(f"/api/v1/projects/{pid}/next", headers=first.headers).json()
    api.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        json={"answers": {"sentiment": "positive"}},
        headers=first.headers,
    )
    assert api.get(f"/api/v1/projects/{pid}/next", headers=second.headers).status_code == 204
    raised = api.patch(f"/api/v1/projects/{pid}", json={"settings": {"overlap": 3}}, headers=manager.headers)
    assert raised.status_code == 200, raised.text
    assert raised.json()["settings"]["overlap"] == 3 and raised.json()["counts"]["complete"] == 0
    assert api.get(f"/api/v1/projects/{pid}/next", headers=second.headers).status_code == 200
    lowered = api.patch(f"/api/v1/projects/{pid}", json={"settings": {"overlap": 1}}, headers=manager.headers)
    assert lowered.json()["counts"]["complete"] == 1
    assert api.get(f"/api/v1/projects/{pid}/next", headers=third.headers).status_code == 204
    # Bad settings are refused whole, naming the field; nothing changes.
    bad = api.patch(f"/api/v1/projects/{pid}", json={"settings": {"overlap": 0}}, headers=manager.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "overlap"
    assert api.get(f"/api/v1/projects/{pid}", headers=manager.headers).json()["settings"]["overlap"] == 1
    renamed = api.patch(f"/api/v1/projects/{pid}", json={"name": "grown"}, headers=manager.headers)
    assert renamed.json()["name"] == "grown"
    assert api.patch(f"/api/v1/projects/{pid}", json={"name": "x"}, headers=first.headers).status_code == 403


def test_a_new_adaptive_target_reopens_the_items_settled_under_the_old_one(
    hub: Assay, api: TestClient
) -> None:
    from assay.workflows import jobs

    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    crowd = [make_member(hub, org) for _ in range(3)]
    pid = api.post(
        "/api/v1/projects",
        json={"name": "sure", "schema": TEXT_SCHEMA, "settings": {"overlap": 5, "target_confidence": 0.9}},
        headers=manager.headers,
    ).json()["id"]
    api.post(f"/api/v1/projects/{pid}/items", json=[{"data": {"text": "one"}}], headers=manager.headers)
    for who in crowd[:2]:
        lease = api.get(f"/api/v1/projects/{pid}/next", headers=who.headers).json()
        api.post(
            f"/api/v1/assignments/{lease['assignment_id']}/submit",
            json={"answers": {"sentiment": "neutral"}},
            headers=who.headers,
        )
    assert api.get(f"/api/v1/projects/{pid}", headers=manager.headers).json()["counts"]["complete"] == 1
    api.patch(
        f"/api/v1/projects/{pid}", json={"settings": {"target_confidence": 0.999}}, headers=manager.headers
    )
    jobs.run_pending(hub)  # the refresh it queued settles nothing: two votes are not 99.9% sure
    assert api.get(f"/api/v1/projects/{pid}", headers=manager.headers).json()["counts"]["complete"] == 0
    assert api.get(f"/api/v1/projects/{pid}/next", headers=crowd[2].headers).status_code == 200
