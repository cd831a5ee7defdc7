"""Run the app under uvicorn, with this process's background job workers beside it."""

from __future__ import annotations

import uvicorn

from assay.app import Assay
from assay.web.app import create_app
from assay.workflows.jobs import Workers


def serve(hub: Assay, *, host: str, port: int) -> None:
    workers = Workers(hub, count=hub.config.job_workers)
    workers.start()
    try:
        uvicorn.run(
            create_app(hub),
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            proxy_headers=False,
            server_header=False,
        )
    finally:
        workers.stop()
