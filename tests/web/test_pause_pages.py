"""Pauses on the pages: the projects list counts them, the dashboard lists them, managers lift them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.storage import gates as gate_store
from assay.web.app import create_app
from assay.workflows import admin
from tests.factories import TEXT_SCHEMA, Member, make_member, make_org
from tests.web.test_pages import PASSWORD, csrf_of, sign_in


@dataclass
class Paused:
    """An organisation where one annotator is paused on one project."""

    hub: Assay
    app: Any
    api: TestClient
    project_id: int
    pause_id: int
    people: dict[str, Member]

    def client(self, who: str) -> TestClient:
        client = TestClient(self.app, raise_server_exceptions=False)
        assert sign_in(client, self.people[who].email, PASSWORD).status_code == 303
        return client

    def next_status(self) -> int:
        url = f"/api/v1/projects/{self.project_id}/next"
        return self.api.get(url, headers=self.people["careless"].headers).status_code

    def lift(self, client: TestClient, *, csrf: str | None) -> Any:
        url = f"/projects/{self.project_id}/pauses/{self.pause_id}/lift"
        data = {} if csrf is None else {"csrf_token": csrf}
        return client.post(url, data=data, follow_redirects=False)


def paused_section(html: str) -> str:
    """The dashboard's paused-annotators card ("" when the page has none)."""
    start = html.find('<section class="card" id="paused"')
    return "" if start < 0 else html[start : html.index("</section>", start)]


def _member(hub: Assay, org: str, role: str, workforce: str | None = None) -> Member:
    member = make_member(hub, org, role=role, workforce=workforce)
    admin.create_user(hub, org=org, email=member.email, role=role, workforce=workforce, password=PASSWORD)
    return member


@pytest.fixture
def paused(hub: Assay) -> Iterator[Paused]:
    hub.config = dataclasses.replace(hub.config, secret_key="s" * 40)
    org = make_org(hub)
    people = {
        "manager": _member(hub, org, "manager"),
        "reviewer": _member(hub, org, "reviewer"),
        "careless": _member(hub, org, "annotator", "Acme"),
        "foreign": _member(hub, make_org(hub), "manager"),
    }
    app = create_app(hub)
    with TestClient(app, raise_server_exceptions=False) as api:
        boss = people["manager"].headers
        settings = {"overlap": 1, "gold_rate": 1.0, "pause_below": 0.8, "pause_min_gold": 3}
        body = {"name": "pausing", "schema": TEXT_SCHEMA, "settings": settings}
        pid = int(api.post("/api/v1/projects", headers=boss, json=body).json()["id"])
        gold = [{"data": {"text": f"g{i}"}, "gold": {"sentiment": "positive"}} for i in range(4)]
        normal = [{"data": {"text": f"n{i}"}} for i in range(4)]
        assert api.post(f"/api/v1/projects/{pid}/items", headers=boss, json=gold + normal).status_code == 201
        careless = people["careless"].headers
        for _ in range(3):  # three wrong gold answers: surely below 80%
            lease = api.get(f"/api/v1/projects/{pid}/next", headers=careless).json()
            r = api.post(
                f"/api/v1/assignments/{lease['assignment_id']}/submit",
                headers=careless,
                json={"answers": {"sentiment": "negative"}, "duration_ms": 20_000},
            )
            assert r.status_code == 201, r.text
        listed = api.get(f"/api/v1/projects/{pid}/quality", headers=boss).json()["paused"]
        assert [p["user"] for p in listed] == [people["careless"].email]
        site = Paused(hub, app, api, pid, int(listed[0]["id"]), people)
        assert site.next_status() == 403
        yield site


def test_a_manager_sees_the_count_and_lifts_the_pause_from_the_dashboard(paused: Paused) -> None:
    client = paused.client("manager")
    pid, careless = paused.project_id, paused.people["careless"].email
    listing = client.get("/projects").text
    assert f'href="/projects/{pid}/dashboard#paused">1 paused' in listing
    page = client.get(f"/projects/{pid}/dashboard")
    assert page.status_code == 200
    card = paused_section(page.text)
    assert careless in card and "Acme" in card and "gold accuracy 0/3" in card
    assert f'action="/projects/{pid}/pauses/{paused.pause_id}/lift"' in card and "Lift pause" in card
    lifted = paused.lift(client, csrf=csrf_of(page.text))
    assert lifted.status_code == 303
    assert lifted.headers["location"] == f"/projects/{pid}/dashboard?lifted=1#paused"
    after = client.get(lifted.headers["location"]).text
    card = paused_section(after)
    assert "Pause lifted" in card and "No annotator is paused" in card and careless not in card
    assert "dashboard#paused" not in client.get("/projects").text
    # The annotator works again, and a second press of the button finds nothing to lift.
    assert paused.next_status() == 200
    assert paused.lift(client, csrf=csrf_of(after)).status_code == 404


def test_the_form_needs_its_csrf_token(paused: Paused) -> None:
    client = paused.client("manager")
    client.get("/projects")
    assert paused.lift(client, csrf=None).status_code == 403
    assert paused.lift(client, csrf="forged").status_code == 403
    assert paused.next_status() == 403


def test_a_reviewer_sees_who_is_paused_but_no_button(paused: Paused) -> None:
    client = paused.client("reviewer")
    page = client.get(f"/projects/{paused.project_id}/dashboard").text
    card = paused_section(page)
    assert paused.people["careless"].email in card and "gold accuracy 0/3" in card
    assert "Lift pause" not in page and "/lift" not in page
    assert "dashboard#paused" not in client.get("/projects").text
    refused = paused.lift(client, csrf=csrf_of(page))
    assert refused.status_code == 404  # pages hide what a role may not do
    assert paused.next_status() == 403


def test_the_paused_annotator_cannot_lift_their_own_pause(paused: Paused) -> None:
    client = paused.client("careless")
    listing = client.get("/projects").text
    assert "dashboard#paused" not in listing
    assert paused.lift(client, csrf=csrf_of(listing)).status_code == 404
    assert paused.next_status() == 403


def test_another_organisations_manager_gets_404(paused: Paused) -> None:
    client = paused.client("foreign")
    csrf = csrf_of(client.get("/projects").text)
    refused = paused.lift(client, csrf=csrf)
    assert refused.status_code == 404 and paused.people["careless"].email not in refused.text
    assert client.get(f"/projects/{paused.project_id}/dashboard").status_code == 404
    assert paused.next_status() == 403


def test_the_count_is_one_grouped_query_scoped_by_organisation(paused: Paused) -> None:
    own = paused.people["manager"].actor(paused.hub).org_id
    other = paused.people["foreign"].actor(paused.hub).org_id
    with paused.hub.db.read() as conn:
        assert gate_store.paused_counts(conn, org_id=own, project_ids=[paused.project_id, 10**6]) == {
            paused.project_id: 1
        }
        assert gate_store.paused_counts(conn, org_id=other, project_ids=[paused.project_id]) == {}
        assert gate_store.paused_counts(conn, org_id=own, project_ids=[]) == {}
