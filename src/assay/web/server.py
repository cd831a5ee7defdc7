"""Run the app under uvicorn."""

from __future__ import annotations

import uvicorn

from assay.app import Assay
from assay.web.app import create_app


def serve(hub: Assay, *, host: str, port: int) -> None:
    uvicorn.run(
        create_app(hub),
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
