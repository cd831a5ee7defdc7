"""Every page a manager or reviewer uses stays usable at 200% zoom (a 640-pixel-wide layout):
no sideways scrolling of the page, controls named, focus visible."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Live, login


def _project_id(page: Any, name: str) -> int:
    projects = page.request.get("/api/v1/projects").json()["projects"]
    return int(next(p["id"] for p in projects if p["name"] == name))


def test_manager_and_reviewer_pages_at_200_percent_zoom(page: Any, live: Live) -> None:
    manager = live.logins["manager"]
    login(page, manager.email, manager.password)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.set_viewport_size({"width": 640, "height": 900})
    project = _project_id(page, "preference")
    paths = [
        "/projects",
        f"/projects/{project}",
        f"/projects/{project}/dashboard",
        f"/projects/{project}/review",
        "/projects/new",
        "/review",
        "/members",
    ]
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        # Wide tables may scroll inside their own box; the page itself must not scroll sideways.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 1:
            wide = page.evaluate(
                """() => [...document.querySelectorAll('body *')]
                    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
                    .filter(el => !el.parentElement.closest('.table-wrap'))
                    .map(el => el.tagName + '.' + el.className)"""
            )
            raise AssertionError(f"{path} scrolls sideways by {overflow}px at 200% zoom: {wide}")
        unnamed = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
                .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                              && !el.getAttribute('aria-labelledby') && !(el.textContent || '').trim()
                              && !el.getAttribute('title') && !(el.value && el.type === 'submit'))
                .map(el => el.outerHTML.slice(0, 80))"""
        )
        assert unnamed == [], f"{path}: controls without a name: {unnamed}"
        focusable = page.locator("main a, main button, main input:not([type=hidden])").first
        if focusable.count():
            focusable.focus()
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline not in ("none", ""), f"{path}: focus is not visible"
    assert failed == []
