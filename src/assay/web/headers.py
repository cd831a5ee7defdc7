"""Response headers built from untrusted text: one way to name a download."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

__all__ = ["attachment"]

# RFC 5987 attr-char beyond letters and digits: what filename*= may carry unencoded.
_ATTR_CHARS = "!#$&+-.^_`|~"
_MAX_CHARS = 200


def attachment(filename: str) -> str:
    """``Content-Disposition`` for a download named ``filename`` (a project's name, say), per RFC 6266.

    Headers are Latin-1 and a CR or LF would end them, so the name goes twice: ``filename=`` an
    ASCII stand-in (every other character, quote, backslash, path separator and control character
    becomes ``_``) for old clients, and ``filename*=UTF-8''`` the name itself, percent-encoded, which
    every current browser prefers.  Control characters are dropped from both.
    """
    name = "".join(c for c in filename if unicodedata.category(c)[0] != "C")[:_MAX_CHARS].strip()
    name = name or "download"
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\/;%' else "_" for c in name)
    encoded = quote(name.encode("utf-8", errors="replace"), safe=_ATTR_CHARS)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
