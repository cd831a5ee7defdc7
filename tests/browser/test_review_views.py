"""A reviewer sees each answer drawn with its question's kind, readable, in Chromium."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.browser.conftest import Live, login
from tests.browser.test_annotate_helpers import (
    annotators,
    assignment,
    item_id,
    manager,
    open_screen,
    wait_moved_on,
)
from tests.browser.test_annotate_widgets import low_contrast

SHOTS = os.environ.get("ASSAY_SCREENSHOTS")


def test_a_reviewer_sees_the_preference_as_the_annotator_gave_it(page: Any, browser: Any, live: Live) -> None:
    who = annotators(live)[5]
    with manager(browser, live) as boss:
        project = boss.project_id("preference")
    open_screen(page, who, project)
    current, item = assignment(page), item_id(page)
    left = page.locator(".response").first.get_attribute("data-response-id")
    # Key 1: the left response much better; then the helpfulness rating; Enter submits.
    page.keyboard.press("1")
    page.keyboard.press("6")
    page.keyboard.press("Enter")
    wait_moved_on(page, current)

    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    try:
        review = context.new_page()
        reviewer = live.logins["reviewer"]
        login(review, reviewer.email, reviewer.password)
        review.goto(f"/items/{item}")
        card = review.locator(f"article.answer[aria-label='Answer by {who.email}']")
        view = card.locator("dd[data-question='overall']")
        assert view.locator(".pref-summary").inner_text().startswith("Response A much better")
        preferred = view.locator(".pref-side.preferred")
        assert preferred.count() == 1
        assert preferred.get_attribute("data-response-id") == left
        assert preferred.get_attribute("data-letter") == "A"
        assert view.locator(".pref-scale li.chosen").count() == 1
        assert view.locator(".pref-scale li").first.get_attribute("class") == "chosen"  # left end
        assert card.locator("dd[data-question='helpful']").inner_text().strip() == "6"
        assert low_contrast(review, "main") == []
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            card.screenshot(path=str(Path(SHOTS) / "review-preference.png"))
    finally:
        context.close()
