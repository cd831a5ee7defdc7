"""The pages in-process: sessions, CSRF, who may see what (404 otherwise), review, projects, members."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.storage.tables import annotations, audit_events, items, reviews
from assay.web import sessions
from assay.web.app import create_app
from assay.workflows import admin
from tests.factories import TEXT_SCHEMA, make_member, make_org, text_items

PASSWORD = "correct horse battery"


@dataclass
class Site:
    hub: Assay
    app: Any
    project_id: int
    emails: dict[str, str]
    tokens: dict[str, str]

    def client(self, role: str | None = None) -> TestClient:
        client = TestClient(self.app, raise_server_exceptions=False)
        if role is not None:
            assert sign_in(client, self.emails[role], PASSWORD).status_code == 303
        return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf(?:-token|_token)" (?:content|value)="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str) -> Any:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    # Behind a TLS proxy the login cookie is Secure; the browser (over https) sends it back, but the
    # test client talks plain http to the app, so hand it back the way the browser would.
    headers = {}
    for value in form.headers.get_list("set-cookie"):
        pair = value.split(";", 1)[0]
        if pair.startswith(sessions.LOGIN_FORM.cookie + "=") and "secure" in value.lower():
            headers["Cookie"] = pair
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token.group(1), "next": "/projects"},
        headers=headers,
        follow_redirects=False,
    )


def set_password_through(client: TestClient, path: str, password: str) -> Any:
    """Open a one-time link's page and set the password with its form, as a browser would."""
    form = client.get(path)
    assert form.status_code == 200, form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    headers = {}
    for value in form.headers.get_list("set-cookie"):
        pair = value.split(";", 1)[0]
        if pair.startswith(sessions.LINK_FORM.cookie + "=") and "secure" in value.lower():
            headers["Cookie"] = pair
    return client.post(
        path,
        data={"password": password, "repeat": password, "csrf_token": token.group(1)},
        headers=headers,
        follow_redirects=False,
    )


@pytest.fixture
def site(hub: Assay) -> Iterator[Site]:
    hub.config = dataclasses.replace(hub.config, secret_key="s" * 40)
    org = make_org(hub)
    emails, tokens = {}, {}
    for role in ("owner", "manager", "reviewer", "annotator", "annotator2"):
        member = make_member(hub, org, role=role.rstrip("2"), workforce="In" if "annotator" in role else None)
        admin.create_user(
            hub,
            org=org,
            email=member.email,
            role=member.role,
            workforce=member.workforce,
            password=PASSWORD,
        )
        emails[role], tokens[role] = member.email, member.token
    app = create_app(hub)
    with TestClient(app) as api:
        bearer = {"Authorization": f"Bearer {tokens['manager']}"}
        created = api.post(
            "/api/v1/projects",
            json={"name": "p", "schema": TEXT_SCHEMA, "settings": {"overlap": 2}},
            headers=bearer,
        )
        project_id = created.json()["id"]
        assert (
            api.post(f"/api/v1/projects/{project_id}/items", json=text_items(1), headers=bearer).status_code
            == 201
        )
        for who, answer in (("annotator", "positive"), ("annotator2", "negative")):
            h = {"Authorization": f"Bearer {tokens[who]}"}
            lease = api.get(f"/api/v1/projects/{project_id}/next", headers=h).json()
            submitted = api.post(
                f"/api/v1/assignments/{lease['assignment_id']}/submit",
                json={"answers": {"sentiment": answer}},
                headers=h,
            )
            assert submitted.status_code == 201
    yield Site(hub, app, project_id, emails, tokens)


def test_pages_need_a_secret_key_but_the_api_does_not(hub: Assay) -> None:
    org = make_org(hub)
    member = make_member(hub, org, role="manager")
    client = TestClient(create_app(hub), raise_server_exceptions=False)
    page = client.get("/login")
    assert page.status_code == 503
    assert "ASSAY_SECRET_KEY" in page.text
    assert (
        client.get("/api/v1/projects", headers={"Authorization": f"Bearer {member.token}"}).status_code == 200
    )


def test_login_wrong_password_and_rate_limit(site: Site) -> None:
    client = site.client()
    assert client.get("/projects", follow_redirects=False).headers["location"] == "/login?next=/projects"
    for _ in range(5):
        wrong = sign_in(client, site.emails["annotator"], "wrong password!")
        assert wrong.status_code == 401
        assert "Wrong email or password." in wrong.text
    # Even the right password waits now: guessing is bounded per email.
    limited = sign_in(client, site.emails["annotator"], PASSWORD)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert sign_in(client, site.emails["reviewer"], PASSWORD).status_code == 303


def test_login_form_needs_its_token(site: Site) -> None:
    client = site.client()
    client.get("/login")
    response = client.post("/login", data={"email": site.emails["manager"], "password": PASSWORD})
    assert response.status_code == 400
    assert "assay_session" not in response.cookies


def test_session_cookie_calls_the_api_with_csrf_header(site: Site) -> None:
    client = site.client("manager")
    csrf = csrf_of(client.get("/projects").text)
    assert client.get("/api/v1/projects").status_code == 200
    body = {"name": "by-cookie", "schema": TEXT_SCHEMA}
    refused = client.post("/api/v1/projects", json=body)
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["error"]
    assert client.post("/api/v1/projects", json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.post("/api/v1/projects", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201


def test_page_forms_refuse_a_missing_csrf_token(site: Site) -> None:
    client = site.client("reviewer")
    response = client.post("/annotations/1/review", data={"verdict": "accept"})
    assert response.status_code == 403
    with site.hub.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reviews)).scalar_one() == 0


PROJECT_PAGES = {"/projects/{p}", "/projects/{p}/review", "/projects/{p}/dashboard"}


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("annotator", {"/projects", "/projects/{p}/annotate"}),
        (
            "reviewer",
            {
                "/projects",
                "/projects/{p}/annotate",
                "/projects/{p}/review",
                "/projects/{p}/dashboard",
                "/items/{i}",
                "/review",
            },
        ),
        (
            "manager",
            {
                "/projects",
                "/projects/{p}/annotate",
                "/projects/{p}/review",
                "/projects/{p}/dashboard",
                "/items/{i}",
                "/review",
                "/projects/{p}",
                "/projects/new",
                "/members",
            },
        ),
    ],
)
def test_each_role_sees_its_pages_and_404_or_403_for_the_rest(
    site: Site, role: str, allowed: set[str]
) -> None:
    client = site.client(role)
    with site.hub.db.read() as conn:
        item_id = conn.execute(sa.select(sa.func.min(items.c.id))).scalar_one()
    pages = [
        "/projects",
        "/projects/{p}/annotate",
        "/projects/{p}/review",
        "/projects/{p}/dashboard",
        "/items/{i}",
        "/review",
        "/projects/{p}",
        "/projects/new",
        "/members",
    ]
    for template in pages:
        url = template.format(p=site.project_id, i=item_id)
        response = client.get(url)
        # A page of a project the member can see says what they may do instead (403), the rest
        # answer 404 like a page that does not exist.
        expected = 200 if template in allowed else 403 if template in PROJECT_PAGES else 404
        assert response.status_code == expected, (role, url, response.status_code)
        assert response.headers["content-type"].startswith("text/html")
    assert client.get("/projects/9999/annotate").status_code == 404


def test_an_annotator_on_a_dashboard_is_told_what_they_may_do(site: Site) -> None:
    client = site.client("annotator")
    for path, what in (("dashboard", "dashboard"), ("review", "review queue"), ("", "settings page")):
        url = f"/projects/{site.project_id}" + (f"/{path}" if path else "")
        page = client.get(url)
        assert page.status_code == 403, url
        assert "does not exist" not in page.text
        assert f"The {what} of p is for " in page.text and "you can annotate this project" in page.text
        assert f'<a href="/projects/{site.project_id}/annotate">Annotate p</a>' in page.text
        assert '<a href="/projects">My work</a>' in page.text
    with site.hub.db.read() as conn:
        denied = conn.execute(
            sa.select(audit_events.c.status).where(
                audit_events.c.action == "GET /projects/{project_id}/dashboard",
                audit_events.c.object_id == str(site.project_id),
            )
        ).scalars()
        assert list(denied) == [403]


def test_another_organisations_project_page_stays_404_for_an_annotator(site: Site) -> None:
    # Never a hint that another organisation's project exists: 404, as for a missing id.
    other = make_org(site.hub)
    boss = make_member(site.hub, other, role="manager")
    with TestClient(site.app) as api:
        created = api.post(
            "/api/v1/projects",
            json={"name": "secret plans", "schema": TEXT_SCHEMA},
            headers={"Authorization": f"Bearer {boss.token}"},
        )
    foreign = created.json()["id"]
    client = site.client("annotator")
    for url in (f"/projects/{foreign}/dashboard", f"/projects/{foreign}", "/projects/99999/dashboard"):
        page = client.get(url)
        assert page.status_code == 404, url
        assert "secret plans" not in page.text and "annotate" not in page.text.lower()


def test_reject_returns_the_item_to_the_pool(site: Site) -> None:
    with site.hub.db.read() as conn:
        ann = conn.execute(sa.select(annotations).order_by(annotations.c.id)).first()
        before = conn.execute(sa.select(items).where(items.c.id == ann.item_id)).one()
    assert before.claimed == 2 and before.open is False
    client = site.client("reviewer")
    queue = client.get(f"/projects/{site.project_id}/review")
    assert "disagreement" in queue.text
    csrf = csrf_of(queue.text)
    no_reason = client.post(
        f"/annotations/{ann.id}/review", data={"csrf_token": csrf, "verdict": "reject", "reason": " "}
    )
    assert no_reason.status_code == 422
    done = client.post(
        f"/annotations/{ann.id}/review",
        data={
            "csrf_token": csrf,
            "verdict": "reject",
            "reason": "wrong sentiment",
            "back": f"/projects/{site.project_id}/review",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    with site.hub.db.read() as conn:
        after = conn.execute(sa.select(items).where(items.c.id == ann.item_id)).one()
        verdicts = conn.execute(
            sa.select(reviews.c.verdict, reviews.c.reason).where(reviews.c.annotation_id == ann.id)
        ).all()
        kept = conn.execute(
            sa.select(sa.func.count()).select_from(annotations).where(annotations.c.id == ann.id)
        ).scalar_one()
    assert (after.claimed, after.open, kept) == (1, True, 1)
    assert [tuple(v) for v in verdicts] == [("reject", "wrong sentiment")]
    again = client.post(
        f"/annotations/{ann.id}/review", data={"csrf_token": csrf, "verdict": "reject", "reason": "x"}
    )
    assert again.status_code == 409
    with site.hub.db.read() as conn:
        assert conn.execute(sa.select(items.c.claimed).where(items.c.id == ann.item_id)).scalar_one() == 1
    # A third annotator is served the item again.
    other = make_member(site.hub, site.emails["manager"].split("@")[1].split(".")[0], role="annotator")
    with TestClient(site.app) as api:
        lease = api.get(
            f"/api/v1/projects/{site.project_id}/next", headers={"Authorization": f"Bearer {other.token}"}
        )
    assert lease.json()["item"]["id"] == ann.item_id


def test_fix_and_accept_are_recorded(site: Site) -> None:
    client = site.client("reviewer")
    with site.hub.db.read() as conn:
        first, second = conn.execute(sa.select(annotations.c.id).order_by(annotations.c.id)).scalars().all()
    csrf = csrf_of(client.get("/items/1").text)
    bad = client.post(
        f"/annotations/{first}/review",
        data={"csrf_token": csrf, "verdict": "fix", "answers": '{"sentiment": "maybe"}'},
    )
    assert bad.status_code == 422 and "sentiment" in bad.text
    ok = client.post(
        f"/annotations/{first}/review",
        data={"csrf_token": csrf, "verdict": "fix", "answers": '{"sentiment": "neutral"}'},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert (
        client.post(
            f"/annotations/{second}/review",
            data={"csrf_token": csrf, "verdict": "accept"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    with site.hub.db.read() as conn:
        rows = conn.execute(
            sa.select(reviews.c.annotation_id, reviews.c.verdict, reviews.c.answers).order_by(reviews.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [(first, "fix", {"sentiment": "neutral"}), (second, "accept", None)]


def test_create_project_shows_schema_errors_at_their_line(site: Site) -> None:
    client = site.client("manager")
    csrf = csrf_of(client.get("/projects/new").text)
    schema = "inputs:\n  - name: text\n    kind: text\nquestions:\n  - name: r\n    kind: rating\n    scale: {min: 3, max: 1}\n"
    preview = client.post("/projects/new/preview", content=schema, headers={"X-CSRF-Token": csrf})
    assert preview.json()["errors"][0]["line"] == 7
    assert client.post("/projects/new/preview", content=schema).status_code == 403
    page = client.post(
        "/projects/new", data={"csrf_token": csrf, "name": "rated", "schema": schema, "settings": ""}
    )
    assert page.status_code == 422
    assert "line 7: questions[0].scale.max" in page.text
    fixed = schema.replace("min: 3", "min: 0")
    good = client.post("/projects/new/preview", content=fixed, headers={"X-CSRF-Token": csrf}).json()
    assert [q["name"] for q in good["questions"]] == ["r"]
    made = client.post(
        "/projects/new",
        data={"csrf_token": csrf, "name": "rated", "schema": fixed, "settings": "overlap: 3"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    shown = client.get(made.headers["location"])
    assert shown.status_code == 200 and "&#34;overlap&#34;: 3" in shown.text


def test_members_invite_update_and_revoke(site: Site) -> None:
    client = site.client("manager")
    csrf = csrf_of(client.get("/members").text)
    invited = client.post(
        "/members/invite",
        data={
            "csrf_token": csrf,
            "email": "new@x.example",
            "role": "annotator",
            "workforce": "Vendor Z",
            "workforce_kind": "vendor",
        },
    )
    found = re.search(r'<code id="one-time-link">https?://[^/]+(/invitations/[^<]+)</code>', invited.text)
    assert found, invited.text
    newcomer = TestClient(site.app)
    assert set_password_through(newcomer, found.group(1), "a new password 1").status_code == 303
    assert newcomer.get("/projects").status_code == 200  # signed in by the link
    assert sign_in(TestClient(site.app), "new@x.example", "a new password 1").status_code == 303
    # Managers cannot make owners.
    owner = client.post(
        "/members/invite", data={"csrf_token": csrf, "email": "boss@x.example", "role": "owner"}
    )
    assert owner.status_code == 403
    # Deactivating a member ends their session at once.
    victim = site.client("annotator2")
    assert victim.get("/projects").status_code == 200
    rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td><form id="m(\d+)"', client.get("/members").text)
    member_id = dict(rows)[site.emails["annotator2"]]
    client.post(f"/members/{member_id}", data={"csrf_token": csrf, "role": "annotator", "workforce": "In"})
    assert victim.get("/projects", follow_redirects=False).status_code == 303
    # Revoking a token stops it on the next request.
    bearer = {"Authorization": f"Bearer {site.tokens['reviewer']}"}
    assert client.get("/api/v1/projects", headers=bearer).status_code == 200
    token_ids = re.findall(r'action="/tokens/(\d+)/revoke"', client.get("/members").text)
    for token_id in token_ids:
        client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert client.get("/api/v1/projects", headers=bearer).status_code == 401


def test_dashboard_draws_svg_charts(site: Site) -> None:
    page = site.client("manager").get(f"/projects/{site.project_id}/dashboard")
    assert page.status_code == 200
    assert page.text.count('<svg class="chart"') == 4 + 4  # and four in the vendor comparison
    assert site.emails["annotator"] in page.text
    assert "lowest agreement" in page.text


def test_dashboard_compares_vendors_for_managers_only(site: Site) -> None:
    page = site.client("manager").get(f"/projects/{site.project_id}/dashboard")
    assert page.status_code == 200 and "Vendor comparison" in page.text
    assert f"/api/v1/projects/{site.project_id}/vendors?format=csv" in page.text
    reviewer = site.client("reviewer").get(f"/projects/{site.project_id}/dashboard")
    assert reviewer.status_code == 200 and "Vendor comparison" not in reviewer.text


def test_dashboard_shows_the_answers_adaptive_overlap_saved(site: Site) -> None:
    """Two agreeing answers from annotators who are right on every gold item settle an item at the
    0.9 target; the dashboard says how many answers that saved against the cap of 5."""
    bearer = {"Authorization": f"Bearer {site.tokens['manager']}"}
    with TestClient(site.app) as api:
        created = api.post(
            "/api/v1/projects",
            json={
                "name": "adaptive",
                "schema": TEXT_SCHEMA,
                "settings": {"overlap": 5, "target_confidence": 0.9},
            },
            headers=bearer,
        )
        pid = created.json()["id"]
        assert (
            api.post(f"/api/v1/projects/{pid}/items", json=text_items(1), headers=bearer).status_code == 201
        )
        for who in ("annotator", "annotator2"):
            h = {"Authorization": f"Bearer {site.tokens[who]}"}
            lease = api.get(f"/api/v1/projects/{pid}/next", headers=h).json()
            done = api.post(
                f"/api/v1/assignments/{lease['assignment_id']}/submit",
                json={"answers": {"sentiment": "neutral"}},
                headers=h,
            )
            assert done.status_code == 201
    page = site.client("manager").get(f"/projects/{pid}/dashboard")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.text))
    assert "Adaptive overlap" in text
    assert "1 of 1 items were settled at 90.0% confidence" in text, text[text.find("Adaptive") :][:400]
    assert "saving 3 answers (60% of what a fixed overlap of 5 would have cost" in text
    # A project without a target shows no such section.
    plain = site.client("manager").get(f"/projects/{site.project_id}/dashboard")
    assert "Adaptive overlap" not in plain.text


def test_the_project_page_offers_generation_and_shows_the_jobs_progress(site: Site) -> None:
    from assay.workflows import jobs

    hub = site.hub
    hub.config = dataclasses.replace(hub.config, model_hosts=("127.0.0.1",), model_retries=0)
    bearer = {"Authorization": f"Bearer {site.tokens['manager']}"}
    schema = {
        "inputs": [
            {"name": "prompt", "kind": "text"},
            {"name": "responses", "kind": "responses", "required": False},
        ],
        "questions": [{"name": "best", "kind": "ranking"}],
    }
    with TestClient(site.app) as api:
        pid = api.post("/api/v1/projects", json={"name": "gen", "schema": schema}, headers=bearer).json()[
            "id"
        ]
        api.post(f"/api/v1/projects/{pid}/items", json=[{"data": {"prompt": "<b>hi</b>"}}], headers=bearer)
        for name in ("m1", "m2"):
            r = api.post(
                "/api/v1/models",
                json={"name": name, "base_url": "http://127.0.0.1:9/v1", "model": "x"},
                headers=bearer,
            )
            assert r.status_code == 201
    manager = site.client("manager")
    page = manager.get(f"/projects/{pid}")
    assert page.status_code == 200
    assert "Generate responses" in page.text and 'value="m1"' in page.text
    assert '<span id="count-waiting">1</span> waiting' in page.text
    # The page's own request (cookie and CSRF token) starts the job.
    started = manager.post(
        f"/api/v1/projects/{pid}/generate",
        json={"models": ["m1", "m2"]},
        headers={"X-CSRF-Token": csrf_of(page.text)},
    )
    assert started.status_code == 202, started.text
    jobs.run_pending(hub)
    page = manager.get(f"/projects/{pid}")
    assert ">failed</strong>" in page.text and "unreachable" in page.text
    # A project with nothing to generate into shows no such card; annotators never see the page.
    assert "Generate responses" not in manager.get(f"/projects/{site.project_id}").text
    assert site.client("annotator").get(f"/projects/{pid}").status_code == 403
