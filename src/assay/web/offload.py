"""CPU-bound work a request waits for, run in processes beside the server, not in its threads.

An import parses, checks and writes every record of its file in Python: run in one of the server's
threads, it holds the interpreter lock for most of its 25 seconds (1M items), and every other
request of every organisation queues behind it for the lock, a few milliseconds at each of the
many times a request gives it up (`next` on another project went from 13 ms to 315 ms at the 99th
percentile, one `submit` waited 4.6 s).  The database was never the bottleneck: an import writes in
short transactions.  So `assay serve` runs imports in ``import_workers`` processes of their own
(``spawn``: fresh interpreters, not forks of a process holding connections), each with its own
``Assay`` over the same configuration, and the request awaits the result; the same rule the quality
refreshes follow (``web.server``'s job process).

``Offload(hub)`` without processes (the in-process app of the tests and the library, or
``ASSAY_IMPORT_WORKERS=0``) runs the same function in a worker thread: callers cannot tell the two
apart, except by the time others wait.  A function given to ``run`` takes the hub first and must be
importable by name; its arguments and result are pickled, and so is an ``AssayError`` it raises
(the error reaches the client as it would from a thread).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

from assay import logs
from assay.app import Assay
from assay.errors import Unavailable
from assay.settings import Config

log = logging.getLogger("assay.server")
P = ParamSpec("P")
R = TypeVar("R")

_HUB: Assay | None = None  # the hub of a worker process, made once by ``_start``


def _start(config: Config) -> None:
    global _HUB
    logs.setup(config)
    logs.redact(config.secret_key)
    _HUB = Assay(config)


def _call(fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
    assert _HUB is not None, "a worker process starts with its hub"
    return fn(_HUB, *args, **kwargs)


def _ready() -> bool:
    return _HUB is not None


class Offload:
    def __init__(self, hub: Assay) -> None:
        self.hub = hub
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def processes(self) -> int:
        return self.hub.config.import_workers if self._pool is not None else 0

    def start(self) -> None:
        """Start the worker processes now (``import_workers`` of them; none when it is 0), so that
        the first import does not wait for an interpreter to start."""
        if self.hub.config.import_workers <= 0:
            return
        with self._lock:
            self._pool = self._new_pool()
        self._pool.submit(_ready).result()  # the first worker is up and has its hub

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.hub.config.import_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(self.hub.config,),
        )

    def stop(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    async def run(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        """``fn(hub, *args, **kwargs)`` in a worker process, or a thread when there are none."""
        pool = self._pool
        if pool is None:
            return await run_in_threadpool(fn, self.hub, *args, **kwargs)
        try:
            return await asyncio.wrap_future(pool.submit(_call, fn, args, kwargs))
        except BrokenProcessPool:
            # A worker died (killed, out of memory): what its import wrote stays invisible and is
            # undone by the next import into that project (``ingest.recover``); later requests get
            # a fresh pool.
            with self._lock:
                if self._pool is pool:
                    self._pool = self._new_pool()
            pool.shutdown(wait=False)
            logs.event(log, "offload.worker_died", level=logging.ERROR, function=fn.__name__)
            raise Unavailable(
                "the worker running this request stopped; nothing was kept, try again"
            ) from None
