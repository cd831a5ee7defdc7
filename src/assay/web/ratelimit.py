"""A token-bucket rate limit for the JSON API, in memory, per process.

Each caller (its bearer token, else its session cookie, else its client address) owns a bucket of
``burst`` requests that refills at ``per_s`` requests a second; a request finding the bucket empty is
answered 429 in the API's error shape with ``Retry-After``.  Behind a load balancer every process
keeps its own buckets, which still bounds a caller to (processes x rate).  The defaults are generous:
the limit is there to stop a runaway script, not to meter honest clients.
"""

from __future__ import annotations

import hashlib
import math

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from assay import logs
from assay.throttle import TokenBuckets
from assay.web import errors

__all__ = ["RateLimit", "TokenBuckets"]

API_PREFIX = "/api/"


def _caller(scope: Scope) -> str:
    cookie = b""
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value:
            # Hashed: the limiter never keeps a usable credential in memory.
            return "t:" + hashlib.sha256(value).hexdigest()[:32]
        if name == b"cookie":
            cookie = value
    if b"assay_session=" in cookie:
        return "s:" + hashlib.sha256(cookie).hexdigest()[:32]
    client = scope.get("client")
    return "i:" + (client[0] if client else "?")


class RateLimit:
    """ASGI middleware: the token bucket in front of ``/api/``; everything else passes."""

    def __init__(self, app: ASGIApp, *, per_s: float, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(per_s=per_s, burst=burst) if per_s > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.buckets is None or scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(_caller(scope))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        client = scope.get("client")
        logs.refusal(
            action=f"{scope['method']} {scope['path']}", status=429, ip=client[0] if client else None
        )
        body = errors.error_body(
            429,
            f"too many requests: this token may make {self.buckets.per_s:g} requests a second "
            f"(bursts of {self.buckets.burst}); retry after {retry} s",
        )
        response = JSONResponse(body, status_code=429, headers={"Retry-After": str(retry)})
        await response(scope, receive, send)
