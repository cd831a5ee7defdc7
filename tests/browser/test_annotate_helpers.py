"""Shared steps of the annotation-screen browser tests (no tests here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.browser.conftest import Live, Login, login


def annotators(live: Live) -> list[Login]:
    """Every demo annotator, in a fixed order, so that each test can work as its own person."""
    people = {p.email: p for key, p in live.logins.items() if "@" in key and p.role == "annotator"}
    return [people[email] for email in sorted(people)]


class Manager:
    """A signed-in manager's browser context, used to arrange projects and read answers back."""

    def __init__(self, context: Any, csrf: str) -> None:
        self.request = context.request
        self.csrf = csrf

    def get(self, path: str) -> Any:
        response = self.request.get(path)
        assert response.ok, f"GET {path}: {response.status} {response.text()}"
        return response.json()

    def post(self, path: str, body: Any) -> Any:
        response = self.request.post(
            path,
            data=json.dumps(body),
            headers={"Content-Type": "application/json", "X-CSRF-Token": self.csrf},
        )
        assert response.ok, f"POST {path}: {response.status} {response.text()}"
        return response.json()

    def project_id(self, name: str) -> int:
        for project in self.get("/api/v1/projects")["projects"]:
            if project["name"] == name:
                return int(project["id"])
        raise AssertionError(f"no project {name!r}")

    def create_project(
        self, name: str, schema: dict[str, Any], items: list[dict[str, Any]], **settings: Any
    ) -> int:
        project = self.post("/api/v1/projects", {"name": name, "schema": schema, "settings": settings})
        self.post(f"/api/v1/projects/{project['id']}/items", items)
        return int(project["id"])

    def annotation_of(self, item_id: int, email: str) -> dict[str, Any]:
        item = self.get(f"/api/v1/items/{item_id}")
        mine = [a for a in item["annotations"] if a["annotator"] == email]
        assert len(mine) == 1, (
            f"item {item_id}: expected one annotation by {email}, got {item['annotations']}"
        )
        return {"data": item["data"], **mine[0]}


@contextmanager
def manager(browser: Any, live: Live) -> Iterator[Manager]:
    context = browser.new_context(base_url=live.url)
    try:
        page = context.new_page()
        who = live.logins["manager"]
        login(page, who.email, who.password)
        csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
        assert csrf
        yield Manager(context, csrf)
    finally:
        context.close()


def open_screen(page: Any, who: Login, project_id: int) -> None:
    """Sign in and open the annotation screen; waits until the first item is on screen."""
    login(page, who.email, who.password)
    page.goto(f"/projects/{project_id}/annotate")
    page.wait_for_selector("#annotate[data-ready='true']")


def assignment(page: Any) -> str:
    return str(page.locator("#annotate").get_attribute("data-assignment-id"))


def item_id(page: Any) -> int:
    return int(page.locator("#annotate").get_attribute("data-item-id"))


def wait_moved_on(page: Any, previous: str) -> None:
    """Wait until another item replaced ``previous`` (or the screen says all is done)."""
    page.wait_for_function(
        "prev => document.querySelector('#annotate').dataset.assignmentId !== prev"
        " || !document.querySelector('#all-done').hidden",
        arg=previous,
    )
    notice = page.locator("#notice")
    assert notice.is_hidden() or notice.get_attribute("data-kind") == "info", notice.inner_text()


def is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def word_end(text: str, words: int) -> int:
    """Where Ctrl+Shift+→ pressed ``words`` times from the start leaves the cursor (in code points)."""
    i, n = 0, len(text)
    for _ in range(words):
        while i < n and not is_word(text[i]):
            i += 1
        while i < n and is_word(text[i]):
            i += 1
    return i
