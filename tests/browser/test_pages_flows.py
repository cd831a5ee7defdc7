"""Whole flows in Chromium: review and reject, create-import-export, untrusted text rendered inert."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import sqlalchemy as sa

from assay.domain.people import Actor
from assay.storage import people
from assay.storage.tables import items, reviews
from assay.workflows import annotate, ingest
from assay.workflows import projects as project_flows
from tests.browser.conftest import Live, login

SHOTS = os.environ.get("ASSAY_SCREENSHOTS")  # a folder: save screenshots of the main pages there

EVIL = (
    "Hello <script>window.__pwned = 1</script> "
    '<img src=x onerror="window.__pwned = 2"> '
    "[click me](javascript:window.__pwned=3) "
    "![tracker](https://tracker.invalid/pixel.png)"
)
SCHEMA = {
    "inputs": [{"name": "prompt", "kind": "markdown"}, {"name": "responses", "kind": "responses"}],
    "questions": [{"name": "overall", "kind": "preference", "scale": {"min": -3, "max": 3}}],
}


def _actor(live: Live, email: str) -> Actor:
    with live.hub() as hub, hub.db.read() as conn:
        org = people.org_by_slug(conn, slug="demo")
        member = people.membership_of(conn, org_id=int(org.id), email=email)
        actor = people.actor_for_membership(conn, membership_id=int(member.id))
    assert actor is not None
    return actor


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def _answered_project(live: Live, name: str, data: dict[str, Any]) -> tuple[int, int]:
    """A project with one item answered by two annotators; returns (project id, item id)."""
    manager = _actor(live, live.logins["manager"].email)
    annotators = [e for e, login in live.logins.items() if "@" in e and login.role == "annotator"][:2]
    with live.hub() as hub:
        project = project_flows.create(hub, manager, name=name, schema=SCHEMA, settings={"overlap": 2})
        ingest.import_items(
            hub,
            manager,
            project,
            source=io.BytesIO(json.dumps({"data": data}).encode()),
            fmt="jsonl",
            name="t",
        )
        item_id = 0
        for value, email in zip((-2, 3), annotators, strict=True):
            actor = _actor(live, email)
            lease = annotate.next_item(hub, actor, project.id)
            assert lease is not None
            annotate.submit(hub, actor, lease.assignment_id, answers={"overall": value})
            item_id = lease.item_id
    return project.id, item_id


def _guard(page: Any, live: Live) -> list[str]:
    """Record every request that leaves the server's origin (and block it)."""
    origin = urlparse(live.url).netloc
    leaks: list[str] = []

    def route(r: Any) -> None:
        if urlparse(r.request.url).netloc != origin and not r.request.url.startswith("data:"):
            leaks.append(r.request.url)
            r.abort()
        else:
            r.continue_()

    page.route("**/*", route)
    page.on("dialog", lambda d: (leaks.append("dialog:" + d.message), d.dismiss()))
    return leaks


def test_reviewer_rejects_and_the_item_returns_to_the_pool(page: Any, live: Live) -> None:
    responses = [{"id": "a", "content": "first"}, {"id": "b", "content": "second"}]
    project_id, item_id = _answered_project(live, "reject-flow", {"prompt": "Which?", "responses": responses})
    reviewer = live.logins["reviewer"]
    login(page, reviewer.email, reviewer.password)
    page.goto(f"/projects/{project_id}/review")
    assert page.get_by_text("disagreement").first.is_visible()
    _shot(page, "review")
    card = page.locator("article.answer").first
    card.get_by_label("Reason to reject", exact=False).fill("did not read the prompt")
    card.get_by_role("button", name="Reject").click()
    page.wait_for_url(lambda url: "done=reject" in url)
    with live.hub() as hub, hub.db.read() as conn:
        row = conn.execute(sa.select(items.c.claimed, items.c.open).where(items.c.id == item_id)).one()
        verdicts = conn.execute(sa.select(reviews.c.verdict, reviews.c.reason)).all()
    assert (row.claimed, row.open) == (1, True)
    assert ("reject", "did not read the prompt") in [tuple(v) for v in verdicts]
    assert page.locator(".badge.reject").count() == 1


def test_manager_creates_imports_and_downloads_dpo(page: Any, live: Live, tmp_path: Path) -> None:
    manager = live.logins["manager"]
    login(page, manager.email, manager.password)
    page.goto("/projects/new")
    page.get_by_label("Name", exact=True).fill("browser-dpo")
    page.get_by_label("Schema", exact=False).fill(
        "inputs:\n  - name: prompt\n    kind: text\nquestions: []\n"
    )
    page.locator(".schema-errors li").first.wait_for()
    assert "line 4" in page.locator(".schema-errors").inner_text()
    schema = (
        "inputs:\n  - name: prompt\n    kind: text\n  - name: responses\n    kind: responses\n"
        "questions:\n  - name: overall\n    kind: preference\n    scale: {min: -3, max: 3}\n"
    )
    page.get_by_label("Schema", exact=False).fill(schema)
    page.locator("#preview ol li").first.wait_for()
    _shot(page, "new-project")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1].isdigit())
    project_id = int(page.url.rstrip("/").split("/")[-1])
    lines = [
        {"data": {"prompt": f"q{i}", "responses": [{"id": "a", "content": "x"}, {"id": "b", "content": "y"}]}}
        for i in range(25)
    ]
    upload = tmp_path / "items.jsonl"
    upload.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    page.get_by_label("File", exact=False).set_input_files(str(upload))
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Imported 25 items").wait_for()
    _shot(page, "project")
    annotator = _actor(live, next(e for e, lg in live.logins.items() if "@" in e and lg.role == "annotator"))
    with live.hub() as hub:
        lease = annotate.next_item(hub, annotator, project_id)
        assert lease is not None
        annotate.submit(hub, annotator, lease.assignment_id, answers={"overall": 2})
    with page.expect_download() as info:
        page.get_by_role("link", name="dpo", exact=True).click()
    path = info.value.path()
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    assert len(rows) == 1
    assert rows[0]["chosen"] == "y" and rows[0]["rejected"] == "x"


def test_untrusted_text_renders_inert(page: Any, live: Live) -> None:
    responses = [{"id": "a", "content": EVIL}, {"id": "b", "content": "plain"}]
    project_id, item_id = _answered_project(live, "xss", {"prompt": EVIL, "responses": responses})
    leaks = _guard(page, live)
    manager = live.logins["manager"]
    login(page, manager.email, manager.password)
    for url in (f"/items/{item_id}", f"/projects/{project_id}/review", f"/projects/{project_id}/dashboard"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__pwned === undefined"), url
    page.goto(f"/items/{item_id}")
    assert page.locator("main script, main img").count() == 0
    assert page.locator('a[href^="javascript:"]').count() == 0
    assert "[image: tracker]" in page.locator("main").inner_text()
    assert leaks == []
    _shot(page, "item")
    page.goto(f"/projects/{project_id}/dashboard")
    _shot(page, "dashboard")
    page.goto("/projects")
    _shot(page, "my-work")
