"""Markdown from untrusted people (item text, model responses, instructions) rendered inert.

Two layers, so that a gap in one is closed by the other: markdown-it runs with raw HTML off (any
``<script>`` in the text comes out escaped), and nh3 then keeps only an allow-list of tags and
attributes.  Images are never loaded from another origin: the page would otherwise tell that
origin who is reading which item.  They are replaced by their alt text.  A link is kept only when
its target is an absolute http or https URL with a host (``safe_link``): a relative or
protocol-relative (``//host``) target would resolve against assay's own origin, and ``mailto:``
and every other scheme open something other than a web page; such a link keeps its words and
loses its target.  Kept links carry ``rel="noopener noreferrer nofollow"``.  The annotation
screen's own renderer (``static/annotate/markdown.js``) applies the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

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
URL_SCHEMES = frozenset({"http", "https"})


def safe_link(url: str | None) -> bool:
    """Whether a link target may be kept: an absolute http(s) URL with a host, nothing else."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False
    return parts.scheme.lower() in URL_SCHEMES and bool(parts.netloc) and url.strip()[:1].isalpha()


def _link_open(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """A link with a target outside the rule renders as its words alone (its close tag is dropped too)."""
    token = tokens[idx]
    href = token.attrGet("href")
    if not safe_link(href if isinstance(href, str) else None):
        env["dropped_links"] = env.get("dropped_links", 0) + 1
        return ""
    return renderer.renderToken(tokens, idx, options, env)


def _link_close(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # Links do not nest in CommonMark, so the close that follows a dropped open is its own.
    for back in range(idx - 1, -1, -1):
        if tokens[back].type == "link_open":
            href = tokens[back].attrGet("href")
            if not safe_link(href if isinstance(href, str) else None):
                return ""
            break
    return renderer.renderToken(tokens, idx, options, env)


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
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    return md


_md = _build()


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    # The second wall: even a link that got past the renderer keeps no target outside the rule.
    if tag == "a" and attribute == "href" and not safe_link(value):
        return None
    return value


def _sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_keep_attribute,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """Safe HTML for untrusted Markdown: no raw HTML, no remote images, only absolute http(s) links."""
    if not isinstance(text, str):
        text = str(text)
    return _sanitise(_md.render(text))


def render_any(value: Any) -> str:
    """Markdown for a string, an empty string for nothing (template convenience)."""
    return "" if value is None else render_markdown(value if isinstance(value, str) else str(value))
