"""The access log (``ASSAY_ACCESS_LOG``): one ``http.request`` event per request, outermost, so that
answers given before the app (413, 429) are logged as well.

It writes the method, the path without its query string, the status, the milliseconds until the
last byte and the client address.  A path parameter whose name says it is a credential (an
invitation ``token``, say) is written as ``[redacted]``; headers, cookies and bodies never are.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay import logs, patterns

log = logging.getLogger("assay.http")
_CREDENTIAL_PARAM = patterns.compile(r"(?i)token|key|secret|password|code")


def logged_path(scope: Scope) -> str:
    path = str(scope.get("path", ""))
    params: dict[str, Any] = scope.get("path_params") or {}
    for name, value in params.items():
        text = str(value)
        if text and _CREDENTIAL_PARAM.search(name):
            path = path.replace(text, logs.REDACTED)
    return path


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, watched)
        except BaseException:
            failed = True
            raise
        finally:
            client = scope.get("client")
            logs.event(
                log,
                "http.request",
                method=scope.get("method"),
                path=logged_path(scope),
                status=status or (500 if failed else None),  # None: the client left before an answer
                ms=round((time.perf_counter() - started) * 1000, 1),
                ip=client[0] if client else None,
            )
