"""Markdown from untrusted people (item text, model responses, instructions) rendered inert.

Two layers, so that a gap in one is closed by the other: markdown-it runs with raw HTML off (any
``<script>`` in the text comes out escaped), and nh3 then keeps only an allow-list of tags and
attributes.  Images are never loaded from another origin: the page would otherwise tell that
origin who is reading which item.  They are replaced by their alt text.  Links keep only
http/https/mailto targets and carry ``rel="noopener noreferrer nofollow"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

ALLOWED_TAGS = frozenset(
    {
        "a", "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote",
        "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def _image_as_text(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """An image becomes its alt text, so the reader knows something was there."""
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env)
    return escapeHtml(f"[image: {alt}]" if alt else "[image]")


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").enable("strikethrough")
    md.add_render_rule("image", _image_as_text)
    return md


_md = _build()


def _sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """Safe HTML for untrusted Markdown: no raw HTML, no remote images, only http(s)/mailto links."""
    if not isinstance(text, str):
        text = str(text)
    return _sanitise(_md.render(text))


def render_any(value: Any) -> str:
    """Markdown for a string, an empty string for nothing (template convenience)."""
    return "" if value is None else render_markdown(value if isinstance(value, str) else str(value))
