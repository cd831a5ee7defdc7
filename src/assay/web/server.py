"""Run the app under uvicorn, with this server's background job workers in a process of their own.

The workers run in a child process, not in threads beside the requests: a quality refresh is CPU
work (NumPy, and Python around it), and in the server's own process it would hold the interpreter
lock while annotators wait for `next` and `submit` (their 99th percentile doubled when it did).
The child stops when the server stops, and on its own if the server dies without telling it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading

import uvicorn

from assay.app import Assay
from assay.settings import Config
from assay.web.app import create_app
from assay.workflows.jobs import Workers


def work(config: Config, parent: int, *, poll_s: float = 0.5) -> None:
    """The job process: run ``config.job_workers`` workers until SIGTERM or the parent is gone."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with Assay(config) as hub:
        workers = Workers(hub, count=config.job_workers, poll_s=poll_s)
        workers.start()
        try:
            while not stop.wait(1.0):
                if os.getppid() != parent:  # the server was killed: no orphans left working
                    break
        finally:
            workers.stop()


def start_workers(config: Config) -> multiprocessing.process.BaseProcess | None:
    if config.job_workers <= 0:
        return None
    # "spawn": a fresh interpreter, not a fork of a process that holds database connections.
    process = multiprocessing.get_context("spawn").Process(
        target=work, args=(config, os.getpid()), name="assay-jobs", daemon=True
    )
    process.start()
    return process


def stop_workers(process: multiprocessing.process.BaseProcess | None, timeout: float = 30.0) -> None:
    if process is None:
        return
    process.terminate()  # SIGTERM: the running job finishes, then the process exits
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join(5)


KEEP_ALIVE_S = 75


def serve(hub: Assay, *, host: str, port: int) -> None:
    process = start_workers(hub.config)
    try:
        uvicorn.run(
            create_app(hub),
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            # Longer than the idle timeout of the proxies put in front (60 s is the usual default):
            # a server that closes an idle connection first races the proxy's next request on it,
            # which then fails with a reset (a 502 for the user).  uvicorn's own default is 5 s.
            timeout_keep_alive=KEEP_ALIVE_S,
        )
    finally:
        stop_workers(process)
