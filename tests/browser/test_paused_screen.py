"""A pause seen from both sides: the annotator's screen says so calmly, a manager lifts it."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Live, login
from tests.browser.test_annotate_helpers import annotators, assignment, manager, open_screen

SCHEMA = {
    "inputs": [{"name": "text", "kind": "text"}],
    "questions": [{"name": "tone", "kind": "choice", "options": ["calm", "angry"]}],
}
PAUSED_OR_WAITING = (
    "prev => document.querySelector('#annotate').dataset.assignmentId !== prev"
    " || (document.querySelector('#paused') && !document.querySelector('#paused').hidden)"
    " || !document.querySelector('#all-done').hidden"
)


def test_a_paused_annotator_is_told_and_a_manager_lifts_the_pause(
    page: Any, browser: Any, live: Live
) -> None:
    who = annotators(live)[0]
    gold = [{"data": {"text": f"known {i}"}, "gold": {"tone": "calm"}} for i in range(4)]
    normal = [{"data": {"text": f"open {i}"}} for i in range(4)]
    with manager(browser, live) as boss:
        project = boss.create_project(
            "pause-screen", SCHEMA, gold + normal, gold_rate=1.0, pause_below=0.8, pause_min_gold=2
        )
    open_screen(page, who, project)
    # Wrong answers until the screen says the pause began.  The gates run after the submit response
    # (so gold cannot be told by timing), and the screen holds a prefetched lease: the pause may
    # land an item or two after the answer that caused it, so the loop may run past the gold.
    for _ in range(len(gold) + len(normal)):
        if page.locator("#paused").count() and page.locator("#paused").is_visible():
            break
        before = assignment(page)
        page.keyboard.press("2")
        page.keyboard.press("Control+Enter")
        page.wait_for_function(PAUSED_OR_WAITING, arg=before)
        if page.locator("#all-done").is_visible():  # answered everything before the pause landed
            page.reload()
            page.wait_for_selector("#annotate[data-ready='paused']")
            break
    panel = page.locator("#paused")
    assert panel.is_visible()
    text = panel.inner_text()
    assert "You are paused on this project" in text and "A manager has been told" in text
    assert page.locator("#notice").is_hidden()  # no error, no raw error body
    assert page.locator("#work").is_hidden()
    assert page.locator("#annotate").get_attribute("data-ready") == "paused"
    # Opening the screen again says the same at once.
    page.reload()
    page.wait_for_selector("#annotate[data-ready='paused']")
    assert "A manager has been told" in page.locator("#paused").inner_text()
    assert "{" not in page.locator("main").inner_text()

    context = browser.new_context(base_url=live.url)
    try:
        desk = context.new_page()
        boss_login = live.logins["manager"]
        login(desk, boss_login.email, boss_login.password)
        desk.goto("/projects")
        badge = desk.locator(f'a[href="/projects/{project}/dashboard#paused"]')
        assert badge.inner_text().startswith("1 paused")
        badge.click()
        desk.get_by_role("button", name=f"Lift pause of {who.email}").click()
        desk.wait_for_url(lambda url: "lifted=1" in url)
        assert "Pause lifted" in desk.locator("#paused").inner_text()
    finally:
        context.close()

    page.reload()
    page.wait_for_selector("#annotate[data-ready='true']")
    assert page.locator("#paused").count() == 0
