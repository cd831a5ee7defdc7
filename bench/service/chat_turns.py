"""assay's own time per chat turn: POST /api/v1/assignments/{id}/turns against an instant model.

One ``assay serve`` (SQLite) with two model connections to the instant server
(``bench/instant_server.py``), a project whose question is a live chat between them (two candidates
per turn, preference), and one annotator who writes turns one after the other: post a user turn,
judge it, post the next one after it, up to the question's ``max_turns``, then the next item.

    .venv/bin/python bench/service/chat_turns.py                 # 300 turns, JSON answers
    .venv/bin/python bench/service/chat_turns.py --turns 500 --stream

Each turn is timed at the client (request sent to answer read; with ``--stream`` to the ``done``
event).  Right after it the benchmark makes the turn's model calls itself (the same two streamed
requests, the conversation so far, at once, on an open connection) straight to the instant server,
and times that too: the turn's time in the model server.  assay's own time is the difference; the figures are p50/p99 of both
and of assay's own time (target: p99 under 20 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import assay_side  # noqa: E402
from common import percentile  # noqa: E402


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of the server process itself (not its job and import workers)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


from instant_server import InstantServer  # noqa: E402

PORT = 8788
MAX_TURNS = 50
SCHEMA: dict[str, Any] = {
    "inputs": [{"name": "topic", "kind": "text"}],
    "questions": [
        {
            "name": "conversation",
            "kind": "chat",
            "models": ["alpha", "beta"],
            "candidates": 2,
            "max_turns": MAX_TURNS,
            "judge": "preference",
        }
    ],
}


def _turn(client: httpx.Client, assignment: int, body: dict[str, Any], stream: bool) -> dict[str, Any]:
    url = f"/api/v1/assignments/{assignment}/turns"
    if not stream:
        r = client.post(url, json=body)
        if r.status_code != 200:
            raise RuntimeError(f"turn {r.status_code}: {r.text[:300]}")
        return dict(r.json())
    event, done = "", None
    with client.stream("POST", url, json=body, headers={"Accept": "text/event-stream"}) as r:
        if r.status_code != 200:
            raise RuntimeError(f"turn {r.status_code}: {r.read()[:300]!r}")
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("done", "error"):
                done = (event, json.loads(line[5:]))
    if done is None or done[0] != "done":
        raise RuntimeError(f"the turn's stream ended without done: {done}")
    return dict(done[1])


async def _direct(base_url: str, messages: list[dict[str, str]]) -> float:
    """The turn's two model calls made straight to the model server, at once, streamed as assay asks
    for them; milliseconds."""
    async with httpx.AsyncClient(timeout=60) as client:
        await client.get(base_url + "/models")  # a connection is open, as assay's pool has one

        async def one(model: str) -> None:
            body = {"model": model, "messages": messages, "stream": True}
            async with client.stream("POST", base_url + "/chat/completions", json=body) as r:
                r.raise_for_status()
                async for _line in r.aiter_lines():
                    pass

        started = time.perf_counter()
        await asyncio.gather(one("alpha"), one("beta"))
        return (time.perf_counter() - started) * 1000


def run(turns: int, stream: bool, port: int) -> dict[str, Any]:
    model = InstantServer()
    try:
        with tempfile.TemporaryDirectory(prefix="assay-chat-turns-") as tmp:
            data = Path(tmp)
            manager_token, (annotator_token,) = assay_side.setup_people(data, annotators=1)
            server = assay_side.AssayServer(data, port, env={"ASSAY_MODEL_HOSTS": "127.0.0.1"})
            server.start()
            try:
                mgr = assay_side.client(server.base, manager_token)
                ann = assay_side.client(server.base, annotator_token, timeout=60)
                for name in ("alpha", "beta"):
                    r = mgr.post(
                        "/api/v1/models", json={"name": name, "base_url": model.base_url, "model": "instant"}
                    )
                    if r.status_code != 201:
                        raise RuntimeError(f"model add: {r.status_code} {r.text[:300]}")
                r = mgr.post("/api/v1/projects", json={"name": "chat", "schema": SCHEMA})
                if r.status_code != 201:
                    raise RuntimeError(f"project: {r.status_code} {r.text[:300]}")
                project = int(r.json()["id"])
                items = turns // MAX_TURNS + 2
                assay_side.import_items(
                    mgr,
                    project,
                    b"".join(b'{"data": {"topic": "topic %d"}}\n' % i for i in range(items)),
                )
                total_ms: list[float] = []
                model_ms: list[float] = []
                depths: list[int] = []
                turn_cpu = 0.0  # the server's CPU seconds inside the measured turns
                warm = 10
                while len(total_ms) < turns + warm:
                    r = ann.get(f"/api/v1/projects/{project}/next")
                    if r.status_code != 200:
                        raise RuntimeError(f"next: {r.status_code} {r.text[:300]}")
                    assignment = int(r.json()["assignment_id"])
                    parent: int | None = None
                    messages: list[dict[str, str]] = []
                    path: list[dict[str, Any]] = []
                    for k in range(MAX_TURNS):
                        content = f"Question {k}: what comes after {k}?"
                        messages.append({"role": "user", "content": content})
                        cpu_before = _cpu_s(server.pid)
                        started = time.perf_counter()
                        turn = _turn(ann, assignment, {"content": content, "parent": parent}, stream)
                        total_ms.append((time.perf_counter() - started) * 1000)
                        if len(total_ms) > warm:
                            turn_cpu += _cpu_s(server.pid) - cpu_before
                        depths.append(k + 1)
                        model_ms.append(asyncio.run(_direct(model.base_url, messages)))
                        states = [c["state"] for c in turn["candidates"]]
                        if states != ["done", "done"]:
                            raise RuntimeError(f"a candidate did not come: {turn['candidates']}")
                        chosen = turn["candidates"][0]
                        r = ann.put(
                            f"/api/v1/assignments/{assignment}/turns/{turn['turn_id']}",
                            json={"preferred": chosen["id"], "strength": 2},
                        )
                        if r.status_code != 200:
                            raise RuntimeError(f"judge: {r.status_code} {r.text[:300]}")
                        messages.append({"role": "assistant", "content": chosen["content"]})
                        parent = int(turn["turn_id"])
                        path.append({"turn_id": parent, "preferred": chosen["id"], "strength": 2})
                        if len(total_ms) >= turns + warm:
                            break
                    # The conversation is answered, and the next item gets a new assignment.
                    r = ann.post(
                        f"/api/v1/assignments/{assignment}/submit",
                        json={"answers": {"conversation": {"turns": path}}, "duration_ms": 60_000},
                        headers={"Idempotency-Key": uuid.uuid4().hex},
                    )
                    if r.status_code != 201:
                        raise RuntimeError(f"submit: {r.status_code} {r.text[:300]}")
            finally:
                server.stop()
    finally:
        model.stop()
    total_ms, model_ms, depths = total_ms[warm:], model_ms[warm:], depths[warm:]
    own = [t - m for t, m in zip(total_ms, model_ms, strict=True)]
    shallow = [o for o, d in zip(own, depths, strict=True) if d <= 10]
    deep = [o for o, d in zip(own, depths, strict=True) if d > 40]

    def figures(values: list[float]) -> dict[str, float]:
        return {"p50": round(percentile(values, 50), 2), "p99": round(percentile(values, 99), 2)}

    return {
        "turns": len(total_ms),
        "stream": stream,
        "turn_ms": figures(total_ms),
        "model_server_ms": figures(model_ms),
        "assay_own_ms": {**figures(own), "max": round(max(own), 2)},
        # A turn reads the whole tree of its assignment: the cost grows along the path.
        "assay_own_ms_turns_1_to_10": figures(shallow),
        "assay_own_ms_turns_41_to_50": figures(deep),
        # Mean CPU time of the server per turn: what the load of a shared machine does not inflate.
        "server_cpu_ms_per_turn": round(turn_cpu / max(1, len(own)) * 1000, 2),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--stream", action="store_true", help="ask for server-sent events")
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args()
    print(json.dumps(run(args.turns, args.stream, args.port), indent=2))


if __name__ == "__main__":
    main()
