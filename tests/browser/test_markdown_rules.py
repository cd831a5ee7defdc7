"""The annotation screen's Markdown follows the server's link rule, and runs in linear time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from assay.web.render import render_markdown
from tests.browser.conftest import Live

DROPPED = [
    "//evil.example/x",
    "/admin",
    "relative.html",
    "#fragment",
    "mailto:a@b.example",
    "https:/no-host",
    "javascript:alert(1)",
    "data:text/html,hi",
    "ftp://files.example/x",
]
KEPT = ["https://example.org/a?b=1#c", "http://example.org", "HTTPS://EXAMPLE.ORG/"]

RENDER = """async ([cases]) => {
  const { renderMarkdown } = await import('/static/annotate/markdown.js');
  return cases.map((src) => {
    const d = document.createElement('div');
    d.append(renderMarkdown(src));
    return [...d.querySelectorAll('a')].map((a) => a.getAttribute('href'));
  });
}"""

# Inputs that a backtracking pattern or a scan restarted at every position would take minutes over.
ADVERSARIAL = [
    "# x" + " " * 50_000 + "\u2028",
    "- x" + " " * 50_000 + "\u2028",
    "1. x" + " " * 50_000 + "\u2028",
    "a|b\n|" + "- " * 30_000 + "x",
    "`a" * 30_000,
    "*a " * 30_000,
    "_a " * 30_000,
    "<https://" * 20_000,
    "- " * 30_000 + "x",
]

TIMED = """async ([cases]) => {
  const { renderMarkdown } = await import('/static/annotate/markdown.js');
  return cases.map((src) => renderMarkdown(src).childNodes.length);
}"""


def _open(page: Any, live: Live) -> None:
    page.goto(live.url + "/login")


def test_links_follow_the_same_rule_as_the_server(page: Any, live: Live) -> None:
    _open(page, live)
    sources = [f"[words]({t}) <{t}>" for t in DROPPED + KEPT]
    found = page.evaluate(RENDER, [sources])
    for target, hrefs in zip(DROPPED, found[: len(DROPPED)], strict=True):
        assert hrefs == [], (target, hrefs)
        assert "href" not in render_markdown(f"[words]({target}) <{target}>"), target
    for target, hrefs in zip(KEPT, found[len(DROPPED) :], strict=True):
        assert len(hrefs) == 2 and all(h.lower().startswith("http") for h in hrefs), (target, hrefs)
        assert render_markdown(f"[words]({target}) <{target}>").count("<a href=") == 2, target


@pytest.mark.timeout(120)  # a hang guard, not a measure
def test_adversarial_markdown_renders(page: Any, live: Live) -> None:
    _open(page, live)
    page.set_default_timeout(60_000)
    counts = page.evaluate(TIMED, [ADVERSARIAL])
    assert len(counts) == len(ADVERSARIAL) and all(n >= 1 for n in counts), json.dumps(counts)
