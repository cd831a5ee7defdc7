"""The error tree shared by every layer.

An ``AssayError`` carries a one-sentence ``message``, an HTTP ``status`` and an optional list of
``errors`` (each a dict with at least ``loc`` and ``msg``).  The JSON API renders it as
``{"ok": false, "error": message, "errors": errors, "status": status}``; the CLI prints the same
sentence.  Raise the most specific subclass; never raise a bare ``AssayError``.
"""

from __future__ import annotations

from typing import Any

ErrorDetail = dict[str, Any]


class AssayError(Exception):
    status: int = 400

    def __init__(self, message: str, *, errors: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors: list[ErrorDetail] = list(errors or [])

    def to_dict(self) -> dict[str, Any]:
        return {"ok": False, "error": self.message, "errors": self.errors, "status": self.status}


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


class Invalid(AssayError):
    """Input that parsed but does not satisfy the contract (HTTP 422)."""

    status = 422


def detail(loc: str, msg: str, **extra: Any) -> ErrorDetail:
    """One entry of ``AssayError.errors``: where (``loc``), what (``msg``), plus context."""
    out: ErrorDetail = {"loc": loc, "msg": msg}
    out.update(extra)
    return out
