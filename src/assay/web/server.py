"""Run the app under uvicorn, with this server's background job workers in a process of their own.

The workers run in a child process, not in threads beside the requests: a quality refresh is CPU
work (NumPy, and Python around it), and in the server's own process it would hold the interpreter
lock while annotators wait for `next` and `submit` (their 99th percentile doubled when it did).
The child stops when the server stops, and on its own if the server dies without telling it.

Start-up sets up logging (``assay.logs``), warns about misspelt ``ASSAY_*`` variables and loads
the secret key (``assay.keys``: made on first start when the database is the embedded one).
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import signal
import threading

import uvicorn

import assay
from assay import keys, logs, settings
from assay.app import Assay
from assay.settings import Config
from assay.web.app import create_app
from assay.web.offload import Offload
from assay.workflows.jobs import Workers

log = logging.getLogger("assay.server")


def work(config: Config, parent: int, *, poll_s: float = 0.5) -> None:
    """The job process: run ``config.job_workers`` workers until SIGTERM or the parent is gone."""
    logs.setup(config)
    logs.redact(config.secret_key)
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


def prepare(hub: Assay, *, ephemeral_key: bool = False) -> None:
    """Everything before the first request: the secret key, and what the operator should know.

    ``ephemeral_key`` (``assay demo``): without a key to be had, sign with a key of this process
    only, instead of leaving the pages off.
    """
    for variable, meant in settings.misspelt():
        logs.event(log, "settings.unknown", level=logging.WARNING, variable=variable, meant=meant)
    found = keys.load(hub.config)
    if found.source == "none" and ephemeral_key:
        found = keys.Key(found.config.with_generated_secret(), "ephemeral")
    hub.config = found.config
    logs.redact(hub.config.secret_key)
    if found.source == "none":
        advice = keys.missing(hub.config, operator=True)
        logs.event(log, "secret_key.missing", level=logging.WARNING, advice=advice)
    else:
        made = found.source in ("generated", "ephemeral")
        logs.event(
            log, f"secret_key.{'generated' if made else 'loaded'}", source=found.source, path=found.path
        )


def serve(hub: Assay, *, host: str, port: int, migrate: bool = False, ephemeral_key: bool = False) -> None:
    """Set up logging, load the key, then (``migrate``) the migrations, then serve until stopped.

    The key comes before the migrations: a key file that is refused stops start-up before the
    database is touched.
    """
    logs.setup(hub.config)
    prepare(hub, ephemeral_key=ephemeral_key)
    if migrate:
        hub.migrate()
    # Imports a killed server left behind: undo those that never committed, publish the others.
    from assay.workflows import ingest

    ingest.recover(hub)
    config = hub.config
    logs.event(
        log,
        "server.starting",
        version=assay.__version__,
        host=host,
        port=port,
        database=hub.db.dialect,
        job_workers=config.job_workers,
        import_workers=config.import_workers,
        pages=bool(config.secret_key),
        access_log=config.access_log,
    )
    process = start_workers(config)
    offload = Offload(hub)
    offload.start()
    # The quality engine (NumPy, SciPy) loads now, not inside the first request or answer that
    # needs it (a quality read, the adaptive-overlap check after an answer): half a second that no
    # annotator should wait for.
    importlib.import_module("assay.quality")

    try:
        uvicorn.run(
            create_app(hub, offload=offload),
            host=host,
            port=port,
            log_level=config.log_level,
            log_config=None,  # logging is assay.logs's: one format for every line
            access_log=False,  # ASSAY_ACCESS_LOG turns on assay's own (web.accesslog)
            proxy_headers=False,
            server_header=False,
            # Longer than the idle timeout of the proxies put in front (60 s is the usual default):
            # a server that closes an idle connection first races the proxy's next request on it,
            # which then fails with a reset (a 502 for the user).  uvicorn's own default is 5 s.
            timeout_keep_alive=KEEP_ALIVE_S,
        )
    finally:
        offload.stop()
        stop_workers(process)
