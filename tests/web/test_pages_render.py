"""The Markdown renderer for untrusted text, and the login rate limiter."""

from __future__ import annotations

import pytest

from assay.web.render import render_markdown
from assay.web.sessions import LoginLimiter


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src=x onerror="alert(1)">', "<img"),
        ("[x](javascript:alert(1))", 'href="javascript'),
        ('<a href="javascript:alert(1)">y</a>', "<a "),
        ("![pixel](https://tracker.invalid/p.png)", "<img"),
        ("[d](data:text/html,hi)", 'href="data'),
        ("<div onclick=x>raw</div>", "<div"),
    ],
)
def test_hostile_markdown_is_inert(text: str, absent: str) -> None:
    assert absent not in render_markdown(text)


def test_images_become_alt_text_and_links_get_rel() -> None:
    html = render_markdown("![a cat](https://x.invalid/c.png) [docs](https://example.org) [m](mailto:a@b.c)")
    assert "[image: a cat]" in html
    assert html.count('rel="noopener noreferrer nofollow"') == 1  # mailto: is not a web page
    assert "mailto" not in html
    assert "<table>" in render_markdown("| a | b |\n|---|---|\n| 1 | 2 |")


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",  # protocol-relative: another host, over the page's own scheme
        "/admin",
        "relative.html",
        "#fragment",
        "mailto:a@b.example",
        "https:/no-host",
        "https:\\\\evil.example",
        "ftp://files.example/x",
        "tel:+123",
    ],
)
def test_only_absolute_http_links_keep_their_target(target: str) -> None:
    html = render_markdown(f"see [the words]({target}) and <{target}>")
    assert "<a" not in html and "href" not in html
    assert "the words" in html


@pytest.mark.parametrize(
    "target", ["https://example.org/a?b=1#c", "http://example.org", "HTTPS://EXAMPLE.ORG"]
)
def test_absolute_http_links_are_kept(target: str) -> None:
    html = render_markdown(f"[docs]({target}) <{target}>")
    assert html.count("<a href=") == 2
    assert html.count('rel="noopener noreferrer nofollow"') == 2


def test_limiter_counts_failures_per_email_in_a_window() -> None:
    now = [1000.0]
    limiter = LoginLimiter(per_email=3, per_ip=100, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after(email="A@x", ip="1") == 0
        limiter.failed(email="a@x", ip="1")
    assert limiter.retry_after(email="a@x", ip="2") == 61
    assert limiter.retry_after(email="b@x", ip="1") == 0
    now[0] += 61
    assert limiter.retry_after(email="a@x", ip="1") == 0
