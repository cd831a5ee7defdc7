"""The widgets read and work: contrast measured from computed styles, ranking by keyboard and by
mouse, and the keyboard path through required choices past an optional text box."""

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

# WCAG 2 contrast of every element with text of its own inside `root`: its computed colour over
# the first opaque background of it or an ancestor (translucent ones blended on the way down).
CONTRAST_JS = """
(root) => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const blend = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a),
    g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a),
    a: 1,
  });
  const lum = ({ r, g, b }) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const backdrop = (node) => {
    const layers = [];
    for (let n = node; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0) {
        layers.push(c);
        if (c.a >= 1) break;
      }
    }
    let bg = { r: 255, g: 255, b: 255, a: 1 };
    for (const c of layers.reverse()) bg = blend(c, bg);
    return bg;
  };
  const out = [];
  for (const node of root.querySelectorAll("*")) {
    const own = Array.from(node.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !node.getClientRects().length) continue;
    const style = getComputedStyle(node);
    if (style.visibility === "hidden") continue;
    const bg = backdrop(node);
    const fg = blend(parse(style.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const rgb = (c) => `rgb(${Math.round(c.r)}, ${Math.round(c.g)}, ${Math.round(c.b)})`;
    out.push({
      text: node.textContent.trim().slice(0, 40),
      tag: node.tagName.toLowerCase(),
      cls: String(node.className),
      color: style.color,
      background: rgb(bg),
      ratio: (hi + 0.05) / (lo + 0.05),
    });
  }
  return out;
}
"""


def low_contrast(page: Any, selector: str = "#annotate") -> list[dict[str, Any]]:
    """Every text on the screen whose contrast is below 4.5:1 (WCAG AA for normal text)."""
    measured = page.locator(selector).evaluate(CONTRAST_JS)
    assert measured, "nothing with text was measured"
    return [m for m in measured if m["ratio"] < 4.5]


def chips(page: Any) -> list[dict[str, Any]]:
    """Each ranking chip's response id, place (0 = not ranked yet) and measured contrast."""
    measured = {
        m["text"]: m
        for m in page.locator("fieldset.ranking").evaluate(CONTRAST_JS)
        if "rank-chip" in m["cls"]
    }
    rows = page.locator(".rank-chip").evaluate_all(
        "cs => cs.map(c => ({id: c.dataset.responseId, text: c.textContent.trim(),"
        " rank: Number(c.closest('.rank-zone').dataset.rank)}))"
    )
    return [{**row, **measured[row["text"]]} for row in rows]


def test_ranking_by_keyboard_and_mouse_with_readable_chips(page: Any, browser: Any, live: Live) -> None:
    who = annotators(live)[8]
    with manager(browser, live) as boss:
        project = boss.project_id("ranking")
        open_screen(page, who, project)
        # Every chip's text differs from its background, measured as Chromium draws it.
        for chip in chips(page):
            assert chip["color"] != chip["background"], chip
            assert chip["ratio"] >= 4.5, chip
        assert low_contrast(page) == []

        # Keyboard: the first unranked chip has focus; 2, 1, 3 place A, B, C in turn; Enter submits.
        current, first_item = assignment(page), item_id(page)
        assert page.evaluate("document.activeElement.classList.contains('rank-chip')")
        shown = [c["id"] for c in chips(page)]
        for key in ("2", "1", "3"):
            page.keyboard.press(key)
        placed = {c["id"]: c["rank"] for c in chips(page)}
        assert placed == {shown[0]: 2, shown[1]: 1, shown[2]: 3}
        for chip in chips(page):  # ranked chips sit on the same white zones: still readable
            assert chip["ratio"] >= 4.5, chip
        page.keyboard.press("Enter")
        wait_moved_on(page, current)
        stored = boss.annotation_of(first_item, who.email)
        assert stored["answers"] == {"order": [[shown[1]], [shown[0]], [shown[2]]]}

        # Mouse: drag each chip into its place (two tie for first), then click Submit.
        current, second_item = assignment(page), item_id(page)
        shown = [c["id"] for c in chips(page)]
        places = {shown[0]: 1, shown[1]: 1, shown[2]: 2}
        # The new item is on screen once its first chip has focus; the board is then still.
        page.wait_for_function("document.activeElement.classList.contains('rank-chip')")
        page.locator(".rank-board").scroll_into_view_if_needed()
        for rid, rank in places.items():
            chip = page.locator(f".rank-chip[data-response-id='{rid}']").bounding_box()
            zone = page.locator(f".rank-zone[data-rank='{rank}']").bounding_box()
            assert chip and zone
            page.mouse.move(chip["x"] + chip["width"] / 2, chip["y"] + chip["height"] / 2)
            page.mouse.down()
            page.mouse.move(zone["x"] + zone["width"] / 2, zone["y"] + zone["height"] - 8, steps=8)
            page.mouse.up()
            page.wait_for_function(
                "([id, r]) => document.querySelector(`.rank-chip[data-response-id='${id}']`)"
                ".closest('.rank-zone').dataset.rank === String(r)",
                arg=[rid, rank],
            )
        assert {c["id"]: c["rank"] for c in chips(page)} == places
        page.get_by_role("button", name="Submit").click()
        wait_moved_on(page, current)
        stored = boss.annotation_of(second_item, who.email)
        data_order = [r["id"] for r in stored["data"]["responses"]]
        tied = sorted([shown[0], shown[1]], key=data_order.index)
        assert stored["answers"] == {"order": [tied, [shown[2]]]}

        # Mouse without dragging (as on a touch screen): click a chip, then its place.
        current, third_item = assignment(page), item_id(page)
        shown = [c["id"] for c in chips(page)]
        for rid, rank in ((shown[2], 1), (shown[0], 2), (shown[1], 3)):
            chip = page.locator(f".rank-chip[data-response-id='{rid}']")
            chip.click()
            assert chip.get_attribute("aria-pressed") == "true"
            assert low_contrast(page, "fieldset.ranking") == []  # the picked chip reads too
            page.locator(f".rank-zone[data-rank='{rank}'] .rank-title").click()
            assert chip.get_attribute("aria-pressed") == "false"
        assert {c["id"]: c["rank"] for c in chips(page)} == {shown[2]: 1, shown[0]: 2, shown[1]: 3}
        page.keyboard.press("Enter")  # focus is on the chip just placed: Enter submits
        wait_moved_on(page, current)
        stored = boss.annotation_of(third_item, who.email)
        assert stored["answers"] == {"order": [[shown[2]], [shown[0]], [shown[1]]]}


def test_every_demo_screen_has_readable_text(page: Any, browser: Any, live: Live) -> None:
    # The class of fault behind the white ranking chips: a widget that sets a background and
    # inherits a colour meant for another one.  Every demo project, answered and not.
    who = annotators(live)[7]
    with manager(browser, live) as boss:
        login_done = False
        for name in ("classify", "preference", "rubric", "ranking"):
            project = boss.project_id(name)
            if login_done:
                page.goto(f"/projects/{project}/annotate")
                page.wait_for_selector("#annotate[data-ready='true']")
            else:
                open_screen(page, who, project)
                login_done = True
            assert low_contrast(page) == [], name
            page.keyboard.press("1")  # a checked option is drawn in the accent colour
            page.keyboard.press("1")
            assert low_contrast(page) == [], name


REQUIRED_THEN_OPTIONAL = {
    "inputs": [{"name": "text", "kind": "text"}],
    "questions": [
        {"name": "tone", "kind": "choice", "options": ["calm", "angry"]},
        {"name": "urgency", "kind": "rating", "scale": {"min": 1, "max": 3}},
        {"name": "note", "kind": "text", "required": False},
    ],
}


def test_enter_submits_once_the_required_choices_are_answered(page: Any, browser: Any, live: Live) -> None:
    who = annotators(live)[8]
    items = [{"data": {"text": f"keyboard path {i}"}} for i in range(4)]
    with manager(browser, live) as boss:
        project = boss.create_project("keyboard-path", REQUIRED_THEN_OPTIONAL, items)
        open_screen(page, who, project)
        note = page.locator("textarea")

        # The two required choices by keys; focus stays out of the optional box, Enter submits.
        current, first = assignment(page), item_id(page)
        page.keyboard.press("2")
        page.keyboard.press("3")
        assert page.evaluate("document.activeElement.tagName") != "TEXTAREA"
        page.keyboard.press("Enter")
        wait_moved_on(page, current)
        assert boss.annotation_of(first, who.email)["answers"] == {"tone": "angry", "urgency": 3}

        # The next item's keys answer its questions, and nothing landed in its box.
        current, second = assignment(page), item_id(page)
        assert note.input_value() == ""
        page.keyboard.press("1")
        page.keyboard.press("2")
        assert note.input_value() == ""
        assert page.locator("fieldset[data-question='tone'] input:checked + kbd").inner_text() == "1"
        assert page.locator("fieldset[data-question='urgency'] input:checked + kbd").inner_text() == "2"

        # The optional box is entered on purpose (Tab), where Enter is a newline; Ctrl+Enter submits.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.tagName") == "TEXTAREA"
        page.keyboard.type("first line")
        page.keyboard.press("Enter")
        page.keyboard.type("second line")
        assert assignment(page) == current
        page.keyboard.press("Control+Enter")
        wait_moved_on(page, current)
        stored = boss.annotation_of(second, who.email)["answers"]
        assert stored == {"tone": "calm", "urgency": 2, "note": "first line\nsecond line"}

        # A click enters it too; Escape leaves it, and Enter then submits.
        current, third = assignment(page), item_id(page)
        page.keyboard.press("1")
        page.keyboard.press("1")
        note.click()
        page.keyboard.type("clicked in")
        page.keyboard.press("Escape")
        page.keyboard.press("Enter")
        wait_moved_on(page, current)
        stored = boss.annotation_of(third, who.email)["answers"]
        assert stored == {"tone": "calm", "urgency": 1, "note": "clicked in"}
