"""Lease expiry, drafts across a reload, undo, and spans over non-ASCII text by keyboard and mouse."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Live
from tests.browser.test_annotate_helpers import (
    annotators,
    assignment,
    item_id,
    manager,
    open_screen,
    wait_moved_on,
)

NOTE_SCHEMA = {
    "inputs": [{"name": "text", "kind": "text"}],
    "questions": [
        {"name": "tone", "kind": "choice", "options": ["calm", "angry"]},
        {"name": "note", "kind": "text"},
    ],
}


def notes(prefix: str, count: int) -> list[dict[str, Any]]:
    return [{"data": {"text": f"{prefix} message {i}"}, "external_id": f"{prefix}-{i}"} for i in range(count)]


def test_expired_lease_is_announced_and_keeps_the_typing(page: Any, browser: Any, live: Live) -> None:
    who = annotators(live)[4]
    with manager(browser, live) as boss:
        project = boss.create_project("expiry", NOTE_SCHEMA, notes("expiry", 3), lease_seconds=600)
        page.clock.install()
        open_screen(page, who, project)
        assert "left" in page.locator("#lease-timer").inner_text()
        page.keyboard.press("2")
        page.keyboard.type("half-written thought ✍️")
        # A reload keeps what was entered: the draft is kept per assignment until it is stored.
        before = assignment(page)
        page.reload()
        page.wait_for_selector("#annotate[data-ready='true']")
        assert assignment(page) == before
        assert page.locator("textarea").input_value() == "half-written thought ✍️"
        page.locator("textarea").focus()
        page.keyboard.type(" and more")
        page.clock.fast_forward("11:00")
        notice = page.locator("#notice")
        notice.wait_for(state="visible")
        assert "run out" in notice.inner_text() and "Nothing you entered is lost" in notice.inner_text()
        assert notice.get_attribute("role") == "alert"
        assert page.locator("#lease-timer").inner_text() == "Lease expired"
        assert page.locator("textarea").input_value() == "half-written thought ✍️ and more"
        assert page.locator("fieldset[data-question='tone'] input:checked").count() == 1
        # Submitting late is still tried: the server keeps it while the item has room.
        number = item_id(page)
        page.keyboard.press("Control+Enter")
        wait_moved_on(page, before)
        stored = boss.annotation_of(number, who.email)
        assert stored["answers"] == {"tone": "angry", "note": "half-written thought ✍️ and more"}


def test_undo_reopens_the_last_answer_while_its_lease_holds(page: Any, browser: Any, live: Live) -> None:
    who = annotators(live)[5]
    with manager(browser, live) as boss:
        project = boss.create_project("undo", NOTE_SCHEMA, notes("undo", 4))
        open_screen(page, who, project)
        assert page.locator("#undo").is_hidden()
        first, first_item = assignment(page), item_id(page)
        page.keyboard.press("1")
        page.keyboard.type("first try")
        page.keyboard.press("Control+Enter")
        wait_moved_on(page, first)
        second = assignment(page)
        page.keyboard.press("2")  # start on the second item; undo must not lose it
        undo = page.locator("#undo")
        undo.wait_for(state="visible")
        assert "Alt+U" in undo.inner_text()
        page.keyboard.press("Alt+u")
        page.wait_for_function(
            "a => document.querySelector('#annotate').dataset.assignmentId === a", arg=first
        )
        assert page.locator("#revising").is_visible()
        assert page.locator("textarea").input_value() == "first try"
        page.keyboard.press("Escape")  # leave the text box, then answer the first question again
        page.keyboard.press("[")
        page.keyboard.press("2")
        page.locator("textarea").focus()
        page.keyboard.press("Control+End")
        page.keyboard.type(", corrected")
        page.keyboard.press("Control+Enter")
        page.wait_for_function(
            "a => document.querySelector('#annotate').dataset.assignmentId === a", arg=second
        )
        assert page.locator("fieldset[data-question='tone'] input:checked").count() == 1
        stored = boss.annotation_of(first_item, who.email)
        assert stored["answers"] == {"tone": "angry", "note": "first try, corrected"}
        assert stored["original_answers"] == {"tone": "calm", "note": "first try"}
        # Alt+S skips the item on screen: it moves on and nothing is stored for it.
        skipped = item_id(page)
        page.keyboard.press("Alt+s")
        wait_moved_on(page, second)
        assert boss.get(f"/api/v1/items/{skipped}")["annotations"] == []


SPAN_TEXT = "H\u00e9llo \U0001f44b\U0001f3fd w\u00f6rld \u2014 na\u00efve caf\u00e9 \u2615 done."


def test_spans_by_keyboard_and_mouse_use_character_offsets(page: Any, browser: Any, live: Live) -> None:
    who = annotators(live)[6]
    schema = {
        "inputs": [{"name": "text", "kind": "text"}],
        "questions": [{"name": "marks", "kind": "spans", "labels": ["greeting", "food"]}],
    }
    with manager(browser, live) as boss:
        project = boss.create_project("spans", schema, [{"data": {"text": SPAN_TEXT}}])
        open_screen(page, who, project)
        assert page.evaluate("document.activeElement.classList.contains('span-text')")
        # Keyboard: 6 characters right, then select the waving hand with its skin tone (2 code points).
        for _ in range(6):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("1")
        # Mouse: drag across "café".
        box = page.evaluate(
            """() => {
              const view = document.querySelector('.span-text');
              const walker = document.createTreeWalker(view, NodeFilter.SHOW_TEXT);
              let node;
              while ((node = walker.nextNode())) {
                const at = node.data.indexOf('caf\u00e9');
                if (at < 0) continue;
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + 4);
                const r = range.getBoundingClientRect();
                return {x0: r.left + 1, x1: r.right - 1, y: r.top + r.height / 2};
              }
              return null;
            }"""
        )
        page.mouse.move(box["x0"], box["y"])
        page.mouse.down()
        page.mouse.move(box["x1"], box["y"], steps=5)
        page.mouse.up()
        page.keyboard.press("2")
        assert page.locator(".span-list li").count() == 2
        # Edit: relabel the first span with its select, delete nothing, then add and delete a third.
        page.keyboard.press("End")
        page.keyboard.press("Shift+Control+ArrowLeft")
        page.keyboard.press("1")
        assert page.locator(".span-list li").count() == 3
        page.keyboard.press("Delete")  # the cursor sits in the last span: it goes
        assert page.locator(".span-list li").count() == 2
        page.locator(".span-list select").first.focus()
        page.keyboard.press("ArrowDown")  # greeting → food
        number = item_id(page)
        current = assignment(page)
        page.keyboard.press("Control+Enter")
        wait_moved_on(page, current)
        stored = boss.annotation_of(number, who.email)["answers"]["marks"]
        assert [SPAN_TEXT[s["start"] : s["end"]] for s in stored] == ["\U0001f44b\U0001f3fd", "caf\u00e9"]
        assert stored == [
            {"start": 6, "end": 8, "label": "food"},
            {"start": SPAN_TEXT.index("caf\u00e9"), "end": SPAN_TEXT.index("caf\u00e9") + 4, "label": "food"},
        ]


def test_usable_at_200_percent_zoom(page: Any, browser: Any, live: Live) -> None:
    who = annotators(live)[7]
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    with manager(browser, live) as boss:
        project = boss.project_id("preference")
    # A 1280-pixel window at 200% zoom lays out like a 640-pixel one.
    page.set_viewport_size({"width": 640, "height": 900})
    open_screen(page, who, project)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for name in ("Submit", "Skip"):
        button = page.get_by_role("button", name=name)
        button.scroll_into_view_if_needed()
        assert button.is_visible()
    # Every control has an accessible name, and focus is drawn.
    assert page.get_by_role("radio", name="Tie").count() == 1
    assert page.get_by_role("textbox", name="why").count() == 1
    focused = page.evaluate("getComputedStyle(document.activeElement.closest('label')).outlineStyle")
    assert focused == "solid"
    assert missing == []
