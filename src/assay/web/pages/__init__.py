"""The server-rendered pages: one router, and HTML error pages for everything outside /api."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from assay.errors import AssayError
from assay.web import errors
from assay.web.pages import auth, insight, project, review, work
from assay.web.pages._base import LoginRequired, WrongRoleForPage, login_url, render_page

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(project.router)
router.include_router(work.router)
router.include_router(review.router)
router.include_router(insight.router)

_HEADINGS = {
    400: "Bad request",
    401: "Sign in needed",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    429: "Too many requests",
    503: "Pages unavailable",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _call(handler: Any, request: Request, exc: Exception) -> Response:
    result = handler(request, exc)
    response: Response = await result if inspect.isawaitable(result) else result
    return response


def install(app: FastAPI) -> None:
    """HTML errors for pages; the JSON API keeps its own handlers (installed before this)."""
    json_assay = app.exception_handlers[AssayError]
    json_http = app.exception_handlers[StarletteHTTPException]

    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    def _html(
        request: Request,
        status: int,
        message: str,
        errors: list[dict[str, Any]],
        links: list[tuple[str, str]] | None = None,
    ) -> Response:
        return render_page(
            "error.html",
            request=request,
            status=status,
            title=_HEADINGS.get(status, "Error"),
            heading=_HEADINGS.get(status, "Error"),
            message=message,
            errors=errors,
            links=links or [("Back to my work", "/projects")],
        )

    async def on_assay(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return await _call(json_assay, request, exc)
        assert isinstance(exc, AssayError)
        links = exc.links if isinstance(exc, WrongRoleForPage) else None
        response = _html(request, exc.status, exc.message, exc.errors, links)
        response.headers.update(errors.error_headers(exc) or {})
        return response

    async def on_http(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return await _call(json_http, request, exc)
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else "error"
        return _html(request, exc.status_code, message, [])

    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(AssayError, on_assay)
    app.add_exception_handler(StarletteHTTPException, on_http)
