"""Signing in through the real login form, the pages each role may (not) see, and their contrast."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Live, login
from tests.browser.test_annotate_helpers import manager as signed_in_manager
from tests.browser.test_annotate_widgets import low_contrast


def test_login_then_my_work_lists_projects(page: Any, live: Live) -> None:
    annotator = live.logins["annotator"]
    login(page, annotator.email, annotator.password)
    assert page.url.endswith("/projects")
    assert page.get_by_role("heading", name="My work").is_visible()
    assert page.locator("table.data tbody tr").count() >= 1
    # The CSRF token is on the page for scripts; the session cookie is not readable by them.
    assert page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert page.evaluate("document.cookie").find("assay_session") == -1


def test_wrong_password_stays_on_login(page: Any, live: Live) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(live.logins["manager"].email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong email or password."


def test_every_page_a_manager_opens_has_readable_text(page: Any, live: Live) -> None:
    # The white-on-white ranking chips were one case of a widget inheriting a colour meant for
    # another background; the same measure over the manager's pages.
    boss = live.logins["manager"]
    login(page, boss.email, boss.password)
    with signed_in_manager(page.context.browser, live) as api:
        classify = api.project_id("classify")
    for path in (
        "/projects",
        f"/projects/{classify}",
        f"/projects/{classify}/dashboard",
        f"/projects/{classify}/review",
        "/projects/new",
        "/members",
        "/account",
        "/review",
    ):
        page.goto(path)
        assert low_contrast(page, "body") == [], path
