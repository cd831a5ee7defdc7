"""One JSON error shape for every failure: ``{"ok": false, "error", "errors", "status"}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assay.errors import AssayError, RateLimited, displayable

log = logging.getLogger("assay")

_PHRASES = {
    400: "bad request",
    401: "authentication required",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    413: "request too large",
    415: "unsupported media type",
    422: "invalid input",
    500: "internal error",
}


def error_body(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    # What a client sent may be quoted here (a key, a value): keep the body encodable.
    return {"ok": False, "error": displayable(message), "errors": displayable(errors or []), "status": status}


def error_headers(exc: AssayError) -> dict[str, str] | None:
    """The headers an error carries on every front door (JSON and HTML)."""
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    if exc.status == 401:
        return {"WWW-Authenticate": "Bearer"}
    return None


def _loc(parts: Any) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(AssayError)
    async def _assay(_request: Request, exc: AssayError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.status, exc.message, exc.errors),
            status_code=exc.status,
            headers=error_headers(exc),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            loc = list(e.get("loc", ()))
            if loc and loc[0] in ("body", "query", "path", "header"):
                loc = loc[1:] if loc[0] == "body" else loc
            errors.append({"loc": _loc(loc), "msg": str(e.get("msg", "invalid"))})
        first = errors[0] if errors else {"loc": "", "msg": "invalid request"}
        message = f"{first['loc']}: {first['msg']}" if first["loc"] else str(first["msg"])
        return JSONResponse(error_body(422, message, errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else _PHRASES.get(exc.status_code, "error")
        return JSONResponse(
            error_body(exc.status_code, message),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body(500, "internal error; the server log has the details"), status_code=500
        )
