"""Response generation: assay's job against a plain async client, and the job's memory.

    .venv/bin/python bench/generate.py                        # all three parts below
    .venv/bin/python bench/generate.py --part instant --rounds 5 --items 1000
    .venv/bin/python bench/generate.py --part model --rounds 5 --model-items 8
    .venv/bin/python bench/generate.py --part memory --memory-items 10000 50000 100000
    .venv/bin/python bench/generate.py --part memory --sqlite-cache-kb 2000

Throughput: the same requests (every item's prompt to each of two model connections, the same body,
the same number in flight per connection) made by assay's generation job (``generate.start`` and
then ``jobs.run_one``: read the waiting items, call, write the responses into SQLite) and by a plain
client that only calls: the ``openai`` package's ``AsyncOpenAI`` and bare ``httpx``.  Rounds
alternate (assay, openai, httpx, assay, ...) in one process; the figures are each side's median and
best seconds, its CPU seconds (every thread of the process), and assay's ratio to each plain client.
Two servers: (a) SmolLM2-135M behind llama-cpp-python's OpenAI-compatible server, as the tests
start it (``tests/model_server.py``), where the model's own time dominates; (b) an instant server
(``bench/instant_server.py``: a bare asyncio HTTP/1.1 server in its own process answering one fixed
completion), where what is left is the clients' own cost.

Memory: the job alone, in a fresh process, over 10k, 50k and 100k waiting items against the instant
server: its RSS before, the highest RSS by each quarter of the job, and its peak (``VmHWM``).  With
``--sqlite-cache-kb`` the job's SQLite connections get that page cache instead of the engine's.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.model_server
sys.path.insert(0, str(ROOT / "bench"))

from instant_server import InstantServer  # noqa: E402

SCHEMA: dict[str, Any] = {
    "inputs": [
        {"name": "prompt", "kind": "text"},
        {"name": "responses", "kind": "responses", "required": False},
    ],
    "questions": [{"name": "best", "kind": "ranking"}],
}
MODELS = ("alpha", "beta")

# --- assay's side -------------------------------------------------------------------------------------


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _hwm_mb() -> float:
    """Peak RSS of this process image.  Not ``ru_maxrss``: a child started with vfork inherits its
    parent's peak in that through exec, and the parent that built the database was the larger."""
    return _status_mb("VmHWM")


def prompts(n: int, offset: int = 0) -> list[str]:
    return [f"Write the number {offset + i} in words." for i in range(n)]


class AssaySide:
    """One SQLite database in a temporary folder: an organisation, two connections to the server."""

    def __init__(self, folder: str, base_url: str, model: str, *, concurrency: int, params: dict[str, Any]):
        from assay.app import Assay
        from assay.cli import common
        from assay.settings import Config
        from assay.storage import migrate
        from assay.workflows import admin
        from assay.workflows import models as connections

        self.config = Config(
            data_dir=Path(folder),
            database_url=f"sqlite:///{folder}/bench.db",
            model_hosts=("127.0.0.1",),
            model_concurrency=concurrency,
            model_retries=0,
        )
        self.hub = Assay(self.config)
        migrate.upgrade(self.hub.db)
        admin.create_org(self.hub, slug="bench", name="Bench")
        self.actor = common.operator(self.hub, "bench")
        for name in MODELS:
            connections.add(
                self.hub, self.actor, {"name": name, "base_url": base_url, "model": model, "params": params}
            )
        self.projects = 0

    def queue(self, texts: list[str]) -> int:
        """A new project holding ``texts`` as waiting items, and its generation job queued."""
        from assay.workflows import generate, ingest
        from assay.workflows import projects as project_flows

        self.projects += 1
        project = project_flows.create(self.hub, self.actor, name=f"p{self.projects}", schema=SCHEMA)
        source = io.BytesIO(b"".join(orjson.dumps({"data": {"prompt": t}}) + b"\n" for t in texts))
        ingest.import_items(self.hub, self.actor, project, source=source, fmt="jsonl", name=None)
        generate.start(self.hub, self.actor, project.id, models=list(MODELS))
        return int(project.id)

    def run(self, project_id: int) -> dict[str, Any]:
        from assay.workflows import generate, jobs

        del generate  # registers the job's handler
        outcome = jobs.run_one(self.hub, project_id=project_id, due_now=True)
        assert outcome is not None
        return outcome

    def check(self, project_id: int, n: int) -> None:
        with self.hub.db.read() as conn:
            left = conn.exec_driver_sql(
                "SELECT count(*) FROM items WHERE project_id = ? AND waiting", (project_id,)
            ).scalar_one()
            state = conn.exec_driver_sql(
                "SELECT state, done FROM jobs WHERE project_id = ?", (project_id,)
            ).one()
        if left or state[0] != "done" or state[1] != n:
            raise RuntimeError(f"the job did not fill every item: {left} waiting, job {tuple(state)}")

    def close(self) -> None:
        self.hub.close()


# --- the plain clients ---------------------------------------------------------------------------------


def _body(model: str, text: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **params}


async def plain_openai(
    base_url: str, model: str, texts: list[str], *, concurrency: int, params: dict[str, Any]
) -> int:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key="none", max_retries=0, timeout=120)
    limits = {name: asyncio.Semaphore(concurrency) for name in MODELS}
    out: list[str] = []

    async def ask(name: str, text: str) -> None:
        async with limits[name]:
            got = await client.chat.completions.create(**_body(model, text, params))
        out.append(got.choices[0].message.content or "")

    async with client:
        await asyncio.gather(*(ask(name, t) for t in texts for name in MODELS))
    return len(out)


async def plain_httpx(
    base_url: str, model: str, texts: list[str], *, concurrency: int, params: dict[str, Any]
) -> int:
    limits = {name: asyncio.Semaphore(concurrency) for name in MODELS}
    out: list[str] = []
    url = base_url + "/chat/completions"

    async with httpx.AsyncClient(timeout=120) as client:

        async def ask(name: str, text: str) -> None:
            async with limits[name]:
                got = await client.post(url, json=_body(model, text, params))
            got.raise_for_status()
            out.append(got.json()["choices"][0]["message"]["content"])

        await asyncio.gather(*(ask(name, t) for t in texts for name in MODELS))
    return len(out)


# --- rounds -------------------------------------------------------------------------------------------


def rounds(
    label: str, base_url: str, model: str, args: argparse.Namespace, n: int, params: dict[str, Any]
) -> None:
    conc = args.concurrency
    with tempfile.TemporaryDirectory() as folder:
        side = AssaySide(folder, base_url, model, concurrency=conc, params=params)
        times: dict[str, list[float]] = {"assay": [], "openai": [], "httpx": []}
        # CPU seconds of this process (every thread), which the machine's load does not inflate.
        cpu: dict[str, list[float]] = {"assay": [], "openai": [], "httpx": []}
        # One warm-up of each, untimed (imports, connections, the model's first call).
        warm = side.queue(prompts(4, 10_000))
        side.run(warm)
        asyncio.run(plain_openai(base_url, model, prompts(4), concurrency=conc, params=params))
        asyncio.run(plain_httpx(base_url, model, prompts(4), concurrency=conc, params=params))
        for r in range(args.rounds):
            texts = prompts(n, r * n)
            project_id = side.queue(texts)
            started, spent = time.perf_counter(), time.process_time()
            side.run(project_id)
            times["assay"].append(time.perf_counter() - started)
            cpu["assay"].append(time.process_time() - spent)
            side.check(project_id, n)
            for name, fn in (("openai", plain_openai), ("httpx", plain_httpx)):
                started, spent = time.perf_counter(), time.process_time()
                made = asyncio.run(fn(base_url, model, texts, concurrency=conc, params=params))
                times[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - spent)
                assert made == n * len(MODELS)
            print(
                f"  round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
                flush=True,
            )
        side.close()
    calls = n * len(MODELS)
    print(
        f"{label}: {n} items x {len(MODELS)} models = {calls} calls, {conc} in flight per model, {args.rounds} rounds"
    )
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    mcpu = {k: statistics.median(v) for k, v in cpu.items()}
    for k in times:
        print(
            f"  {k:6} median {med[k]:.2f} s ({calls / med[k]:,.0f} calls/s), best {best[k]:.2f} s; "
            f"CPU {mcpu[k]:.2f} s ({mcpu[k] / calls * 1e6:,.0f} µs a call)"
        )
    for k in ("openai", "httpx"):
        print(
            f"  assay / {k}: median {med['assay'] / med[k]:.3f}x, best {best['assay'] / best[k]:.3f}x, "
            f"CPU {mcpu['assay'] / mcpu[k]:.3f}x"
        )
    print(f"  load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


def part_instant(args: argparse.Namespace) -> None:
    server = InstantServer()
    try:
        rounds("instant server", server.base_url, "instant", args, args.items, {"max_tokens": 16})
    finally:
        server.stop()


def _model_server(threads: int, batch: int | None) -> Any:
    """The tests' model server; with ``batch``, prompts are evaluated that many tokens at a time."""
    from tests import model_server

    if batch is None:
        return model_server.ModelServer(threads=threads)

    class Batched(model_server.ModelServer):
        def __init__(self) -> None:
            path = model_server.model_file()
            assert path is not None
            self.port = model_server.free_port()
            self.base_url = f"http://127.0.0.1:{self.port}/v1"
            self.log = Path(tempfile.gettempdir()) / f"assay-model-server-{self.port}.log"
            command = [
                *(sys.executable, "-m", "llama_cpp.server", "--model", str(path)),
                *("--model_alias", model_server.MODEL, "--host", "127.0.0.1", "--port", str(self.port)),
                *("--n_ctx", "2048", "--n_threads", str(threads), "--verbose", "false"),
                *("--n_batch", str(batch), "--n_ubatch", str(batch)),
            ]
            self._log = self.log.open("wb")
            self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
            self._wait()

    return Batched()


def part_model(args: argparse.Namespace) -> None:
    from tests.model_server import MODEL, unavailable

    why = unavailable()
    if why:
        print(f"model server: skipped, {why}")
        return
    server = _model_server(args.model_threads, args.model_batch)
    try:
        params = {"max_tokens": args.max_tokens, "temperature": 0.0, "seed": 7}
        label = f"SmolLM2-135M (llama-cpp-python, {args.model_threads} threads)"
        rounds(label, server.base_url, MODEL, args, args.model_items, params)
    finally:
        server.stop()


def part_memory(args: argparse.Namespace) -> None:
    server = InstantServer()
    cache = "the engine's" if args.sqlite_cache_kb is None else f"{args.sqlite_cache_kb} KB"
    try:
        print(
            f"memory: the job alone in a fresh process, {args.concurrency} in flight per model, "
            f"SQLite page cache {cache} per connection"
        )
        for n in args.memory_items:
            with tempfile.TemporaryDirectory() as folder:
                side = AssaySide(
                    folder,
                    server.base_url,
                    "instant",
                    concurrency=args.concurrency,
                    params={"max_tokens": 16},
                )
                project_id = side.queue(prompts(n))
                side.close()
                env = {**os.environ, "BENCH_CONCURRENCY": str(args.concurrency)}
                if args.sqlite_cache_kb is not None:
                    env["BENCH_SQLITE_CACHE_KB"] = str(args.sqlite_cache_kb)
                got = subprocess.run(
                    [sys.executable, __file__, "--memory-child", folder, str(project_id), str(n)],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                row = json.loads(got.stdout.strip().splitlines()[-1])
                size = Path(folder, "bench.db").stat().st_size / 1e6
                quarters = " / ".join(f"{q:.0f}" for q in row["rss_quarters_mb"])
                print(
                    f"  {n:>7,} items ({size:.0f} MB database): {row['seconds']:.1f} s "
                    f"({n / row['seconds']:,.0f} items/s); RSS {row['rss_before_mb']:.0f} MB before the "
                    f"job, the highest by 1/4, 1/2, 3/4 and the end of it {quarters} MB; peak {row['peak_mb']:.0f} MB",
                    flush=True,
                )
    finally:
        server.stop()


def memory_child(folder: str, project_id: int, n: int) -> None:
    import threading

    import sqlalchemy as sa

    from assay.app import Assay
    from assay.settings import Config
    from assay.workflows import generate, jobs

    del generate
    hub = Assay(
        Config(
            data_dir=Path(folder),
            database_url=f"sqlite:///{folder}/bench.db",
            model_hosts=("127.0.0.1",),
            model_concurrency=int(os.environ["BENCH_CONCURRENCY"]),
            model_retries=0,
        )
    )
    cache = os.environ.get("BENCH_SQLITE_CACHE_KB")
    if cache is not None:  # after the engine's own pragmas, on every new connection

        def small_cache(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute(f"PRAGMA cache_size=-{int(cache)}")

        for engine in {hub.db.read_engine, hub.db.write_engine}:
            sa.event.listen(engine, "connect", small_cache)
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            samples.append(_rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    before = _rss_mb()
    started = time.perf_counter()
    sampler.start()
    outcome = jobs.run_one(hub, project_id=project_id, due_now=True)
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    assert outcome is not None
    with hub.db.read() as conn:
        left = conn.exec_driver_sql("SELECT count(*) FROM items WHERE waiting").scalar_one()
    assert left == 0, f"{left} items still waiting"
    hub.close()
    samples = samples or [_rss_mb()]
    quarters = [max(samples[: max(1, len(samples) * k // 4)]) for k in (1, 2, 3, 4)]
    row = {"seconds": seconds, "rss_before_mb": before, "rss_quarters_mb": quarters, "peak_mb": _hwm_mb()}
    print(json.dumps({**row, "items": n}))


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--memory-child":
        memory_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--part", choices=("instant", "model", "memory"), action="append")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4, help="calls in flight per model connection")
    parser.add_argument("--items", type=int, default=2000, help="items per round, instant server")
    parser.add_argument("--model-items", type=int, default=16, help="items per round, real model")
    parser.add_argument("--max-tokens", type=int, default=16, help="real model")
    parser.add_argument("--model-threads", type=int, default=2, help="real model")
    parser.add_argument(
        "--model-batch",
        type=int,
        default=None,
        help="real model: tokens per prompt evaluation (1 where llama.cpp's batched kernels crash)",
    )
    parser.add_argument("--memory-items", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument(
        "--sqlite-cache-kb",
        type=int,
        default=None,
        help="memory: SQLite's page cache per connection in the job (default: the engine's 64 MB)",
    )
    args = parser.parse_args()
    parts: dict[str, Callable[[argparse.Namespace], None]] = {
        "instant": part_instant,
        "model": part_model,
        "memory": part_memory,
    }
    for name in args.part or list(parts):
        parts[name](args)


if __name__ == "__main__":
    main()
