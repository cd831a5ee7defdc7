"""The error tree shared by every layer.

An ``AssayError`` carries a one-sentence ``message``, an HTTP ``status`` and an optional list of
``errors`` (each a dict with at least ``loc`` and ``msg``).  The JSON API renders it as
``{"ok": false, "error": message, "errors": errors, "status": status}``; the CLI prints the same
sentence.  Raise the most specific subclass; never raise a bare ``AssayError``.
"""

from __future__ import annotations

from typing import Any

ErrorDetail = dict[str, Any]


def displayable(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings written out as text (``\\ud800``).

    An error often quotes what was sent; a lone surrogate cannot be encoded as UTF-8, so quoting one
    would break the very response (or page, or terminal line) that reports it.  Iterative over the
    small structures errors are made of.
    """
    if isinstance(value, str):
        return value if value.isascii() else value.encode("utf-8", "backslashreplace").decode("utf-8")
    if not isinstance(value, dict | list):
        return value
    root: Any = dict(value) if isinstance(value, dict) else list(value)
    stack = [root]
    while stack:
        node = stack.pop()
        pairs = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        if isinstance(node, dict):
            node.clear()
        for key, item in pairs:
            if isinstance(item, dict | list):
                item = dict(item) if isinstance(item, dict) else list(item)
                stack.append(item)
            elif isinstance(item, str):
                item = displayable(item)
            node[displayable(key) if isinstance(key, str) else key] = item
    return root


class AssayError(Exception):
    status: int = 400

    def __init__(self, message: str, *, errors: list[ErrorDetail] | None = None) -> None:
        message = displayable(message)
        super().__init__(message)
        self.message = message
        self.errors: list[ErrorDetail] = displayable(list(errors or []))

    def to_dict(self) -> dict[str, Any]:
        return {"ok": False, "error": self.message, "errors": self.errors, "status": self.status}

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled whole, whatever a subclass's constructor asks for: an error raised in a worker
        # process (``web.offload``) reaches the client as it would from a thread.
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[AssayError], message: str, state: dict[str, Any]) -> AssayError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class BadRequest(AssayError):
    status = 400


class Unauthorized(AssayError):
    status = 401


class Forbidden(AssayError):
    status = 403


class NotFound(AssayError):
    status = 404


class Conflict(AssayError):
    status = 409


class TooLarge(AssayError):
    status = 413


class RateLimited(AssayError):
    """Too many requests or attempts: 429, with the seconds to wait (``Retry-After``)."""

    status = 429

    def __init__(self, message: str, *, retry_after: int, errors: list[ErrorDetail] | None = None) -> None:
        super().__init__(message, errors=errors)
        self.retry_after = max(1, int(retry_after))


class Unavailable(AssayError):
    """The server cannot do this now, through no fault of the request (HTTP 503)."""

    status = 503


class Invalid(AssayError):
    """Input that parsed but does not satisfy the contract (HTTP 422)."""

    status = 422


def detail(loc: str, msg: str, **extra: Any) -> ErrorDetail:
    """One entry of ``AssayError.errors``: where (``loc``), what (``msg``), plus context."""
    out: ErrorDetail = {"loc": loc, "msg": msg}
    out.update(extra)
    return out
