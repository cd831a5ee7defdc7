"""The ASGI application: the JSON API, the pages and the static assets of one ``assay serve``."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import assay
from assay import keys
from assay.app import Assay
from assay.web import docs, errors, pages, sessions
from assay.web.accesslog import AccessLog
from assay.web.api import openapi
from assay.web.api.routes import router as api_router
from assay.web.offload import Offload
from assay.web.ratelimit import RateLimit

STATIC = Path(__file__).resolve().parent / "static"

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
]


class Guard:
    """Security headers on every response, and a body-size limit outside the import route."""

    def __init__(self, app: ASGIApp, *, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_import = scope["method"] == "POST" and scope["path"].endswith("/items")
        if is_import:  # the import route streams to disk and applies its own, larger limit
            await self.app(scope, receive, self._with_headers(send))
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
                await self._too_large(scope, receive, send)
                return
        # A body without Content-Length (chunked) is counted as it arrives and cut off at the limit,
        # so it is never read into memory whole.
        seen = 0
        limit = self.max_body

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise StarletteHTTPException(413, f"the request body is larger than {limit} bytes")
            return message

        await self.app(scope, counted, self._with_headers(send))

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            errors.error_body(413, f"the request body is larger than {self.max_body} bytes"), status_code=413
        )
        await response(scope, receive, self._with_headers(send))

    @staticmethod
    def _with_headers(send: Send) -> Send:
        async def wrapped(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        return wrapped


LANDING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>assay</title></head>
<body><main><h1>assay</h1><p>The server is running. The JSON API lives under
<code>/api/v1</code>: read its <a href="/api/docs">interactive documentation</a>, or its
OpenAPI description at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p><p>{why}.</p></main></body></html>"""


def create_app(hub: Assay, *, offload: Offload | None = None) -> ASGIApp:
    """The app over ``hub``; CPU-bound request work (imports) runs through ``offload``, by default
    in worker threads (``assay serve`` passes one with processes of its own)."""
    app = FastAPI(
        title="assay",
        version=assay.__version__,
        description="The JSON API of assay. Errors always come as `ErrorBody`; "
        "interactive documentation at [/api/docs](/api/docs).",
        openapi_url="/api/v1/openapi.json",
        # FastAPI's own docs pages load their scripts from a CDN; ours come from a package (web/docs.py).
        docs_url=None,
        redoc_url=None,
        # One schema per model for requests and responses alike: generated clients get one class each.
        separate_input_output_schemas=False,
    )
    app.state.assay = hub
    app.state.offload = offload or Offload(hub)
    errors.install(app)
    pages.install(app)
    app.include_router(api_router)
    app.include_router(pages.router)
    openapi.install(app)
    docs.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def landing() -> Response:
        if sessions.pages_enabled(hub):
            return RedirectResponse("/projects", status_code=303)
        why = html.escape(keys.missing(hub.config))
        return HTMLResponse(LANDING.format(why=why[:1].upper() + why[1:]))

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> dict[str, Any]:
        return {"ok": True, "version": assay.__version__}

    # The rate limit sits inside the guard, so a 429 also carries the security headers.
    limited = RateLimit(app, per_s=hub.config.rate_limit_per_s, burst=hub.config.rate_limit_burst)
    guarded = Guard(limited, max_body=hub.config.max_body_bytes)
    # Outermost, so that the guard's 413s and the limit's 429s are logged too.
    return AccessLog(guarded) if hub.config.access_log else guarded
