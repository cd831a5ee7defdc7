"""The API's interactive documentation in Chromium: served by the server, offline, within the CSP."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from tests.browser.conftest import Live

CSP_LISTENER = """document.addEventListener('securitypolicyviolation', (e) => {
  (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI);
});"""


def test_the_docs_page_renders_every_operation_offline_within_the_csp(page: Any, live: Live) -> None:
    origin = urlparse(live.url).netloc
    outside: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        if urlparse(r.request.url).netloc != origin:
            outside.append(r.request.url)
            r.abort()
        else:
            r.continue_()

    page.add_init_script(CSP_LISTENER)
    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = page.goto("/api/docs")
    assert response is not None and response.status == 200
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock-summary-path")
    page.wait_for_load_state("networkidle")
    paths = page.eval_on_selector_all(
        ".opblock-summary-path", "els => els.map(e => e.getAttribute('data-path'))"
    )
    assert "/api/v1/projects/{project_id}/items" in paths and "/api/v1/projects" in paths
    # The bearer scheme is offered ("Authorize"), as the document declares it.
    assert page.locator("button.authorize").count() == 1
    # Opening an operation renders its body schema and responses, still within the policy.
    page.locator("#operations-items-import_items .opblock-summary").click()
    page.wait_for_selector("#operations-items-import_items .responses-table")
    for status in ("201", "401", "403", "404", "409", "413", "422", "429"):
        assert page.locator(f'#operations-items-import_items tr.response[data-code="{status}"]').count() == 1
    inline = page.eval_on_selector_all("script", "els => els.filter(e => !e.src).length")
    assert inline == 0
    assert page.evaluate("window.__csp || []") == []
    assert outside == [] and errors == []


def test_the_pages_link_to_the_docs(page: Any, live: Live) -> None:
    page.goto("/login")
    assert page.locator('a[href="/api/docs"]').count() >= 1
