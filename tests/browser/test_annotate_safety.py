"""Hostile item content renders inert: no script runs, nothing leaves the origin, links are safe."""

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

HOSTILE = (
    '<script>window.__pwned = "script"</script>'
    "<img src=x onerror=\"window.__pwned='img'\"> "
    "[click me](javascript:window.__pwned='link') "
    '<a href="javascript:window.__pwned=1">raw link</a> '
    "![tracker](https://tracker.invalid/pixel.png) "
    '<iframe src="https://tracker.invalid/frame"></iframe><svg onload="alert(1)"></svg>'
    "<style>body { display: none }</style> "
    "[data](data:text/html,<script>alert(1)</script>) "
    "[docs](https://example.org/docs)"
)

SCHEMA = {
    "inputs": [
        {"name": "t", "kind": "text"},
        {"name": "md", "kind": "markdown"},
        {"name": "c", "kind": "chat"},
        {"name": "r", "kind": "responses"},
        {"name": "pair", "kind": "responses"},
    ],
    "questions": [
        {"name": "pick", "kind": "multi_choice", "options": ["fine", "odd", "hostile"]},
        {"name": "order", "kind": "ranking"},
        {"name": "pref", "kind": "preference", "input": "pair", "scale": {"min": -2, "max": 2}},
    ],
}

ITEM = {
    "data": {
        "t": HOSTILE,
        "md": f"# Title\n\n{HOSTILE}\n\n- one\n- <b>two</b>\n\n```\n<script>alert(2)</script>\n```",
        "c": [{"role": "user", "content": HOSTILE}, {"role": "assistant", "content": HOSTILE}],
        "r": [
            {"id": "a", "content": HOSTILE, "model": "m1"},
            {"id": "b", "content": "**bold** " + HOSTILE, "model": "m2"},
            {"id": "c", "content": "<img src=https://tracker.invalid/c.png>", "model": "m3"},
        ],
        "pair": [{"id": "x", "content": HOSTILE}, {"id": "y", "content": "[ok](https://example.org/)"}],
    },
    "external_id": "hostile-1",
}

MARKDOWN_CASES = """async () => {
  const { renderMarkdown } = await import('/static/annotate/markdown.js');
  const html = (src) => { const d = document.createElement('div'); d.append(renderMarkdown(src)); return d.innerHTML; };
  return {
    inline: html('**bold**, _em_, `<code>` and [a](https://example.org/x "t")'),
    script: html('<script>alert(1)</script>'),
    js: html('[x](javascript:alert(1)) [y]( JAVASCRIPT:alert(1))'),
    image: html('![alt text](https://evil.invalid/p.png)'),
    list: html('1. one\\n2. two\\n\\n- a\\n- b'),
    fence: html('```\\n<b>x</b>\\n```'),
  };
}"""


def test_hostile_item_renders_inert(page: Any, browser: Any, live: Live) -> None:
    with manager(browser, live) as boss:
        project = boss.create_project("hostile", SCHEMA, [ITEM], instructions=HOSTILE)
        requests: list[str] = []
        dialogs: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        open_screen(page, annotators(live)[3], project)
        item = page.locator("#item")
        # Raw HTML shows as the characters it is made of.
        assert "<script>" in item.inner_text()
        assert page.locator("#annotate img, #annotate iframe, #annotate svg, #annotate script").count() == 0
        assert item.locator("style").count() == 0
        hrefs = item.locator("a").evaluate_all(
            "links => links.map(a => [a.getAttribute('href'), a.rel, a.target])"
        )
        assert hrefs, "the https link should stay a link"
        for href, rel, target in hrefs:
            assert href.startswith("https://"), href
            assert "noopener" in rel and "noreferrer" in rel and target == "_blank"
        # An image is named, never loaded.
        assert "[image: tracker] (https://tracker.invalid/pixel.png)" in item.inner_text()
        item.locator(".md-dead-link").first.click()
        page.wait_for_timeout(200)
        assert page.evaluate("window.__pwned") is None
        assert dialogs == []

        rendered = page.evaluate(MARKDOWN_CASES)
        assert "<strong>bold</strong>" in rendered["inline"] and "<em>em</em>" in rendered["inline"]
        assert "<code>&lt;code&gt;</code>" in rendered["inline"]
        assert 'href="https://example.org/x"' in rendered["inline"]
        assert rendered["script"] == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
        assert "<a" not in rendered["js"] and "md-dead-link" in rendered["js"]
        assert "<img" not in rendered["image"] and "https://evil.invalid/p.png" in rendered["image"]
        assert rendered["list"] == "<ol><li>one</li><li>two</li></ol><ul><li>a</li><li>b</li></ul>"
        assert rendered["fence"] == "<pre><code>&lt;b&gt;x&lt;/b&gt;</code></pre>"

        # The same item answered with the keyboard: multi_choice, ranking with a tie, preference.
        shown = page.locator("[data-input='r'] .response").evaluate_all(
            "cards => cards.map(c => c.dataset.responseId)"
        )
        left = page.locator("fieldset[data-question='pref']").get_attribute("data-left")
        current, item_number = assignment(page), item_id(page)
        page.keyboard.press("1")
        page.keyboard.press("3")
        page.keyboard.press("]")  # to the ranking: focus is on the first unranked response
        for place in ("2", "1", "2"):
            page.keyboard.press(place)
        page.keyboard.press("]")
        page.keyboard.press("1")  # left end of the scale: left response much better
        page.keyboard.press("Enter")
        wait_moved_on(page, current)
        stored = boss.annotation_of(item_number, annotators(live)[3].email)
        stored_order = ["a", "b", "c"]
        tied = sorted([shown[0], shown[2]], key=stored_order.index)
        assert stored["answers"] == {
            "pick": ["fine", "hostile"],
            "order": [[shown[1]], tied],
            "pref": -2 if left == "x" else 2,
        }
        assert page.locator("#all-done").is_visible()
        assert dialogs == [] and page.evaluate("window.__pwned") is None
        outside = [url for url in requests if not url.startswith(live.url + "/")]
        assert outside == [], outside
