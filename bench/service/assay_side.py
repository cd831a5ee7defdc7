"""assay under test: set-up through the CLI, the server as a subprocess, the API calls measured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from common import OVERLAP, item_text, rss_mb, wait_http

ASSAY = str(Path(sys.executable).parent / "assay")
ORG = "bench"
MANAGER = "lead@bench.test"
SCHEMA = {
    "inputs": [{"name": "text", "kind": "text"}],
    "questions": [{"name": "sentiment", "kind": "choice", "options": ["positive", "neutral", "negative"]}],
}
ANSWER = {"answers": {"sentiment": "neutral"}, "duration_ms": 1200}


def _env() -> dict[str, str]:
    # Only the command line configures the server under test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    # The benchmark drives one token far harder than a person would; measure the server, not the
    # per-token rate limit (on by default since these figures were first taken).
    env["ASSAY_RATE_LIMIT_PER_S"] = "0"
    return env


def cli(*args: str, data_dir: Path) -> str:
    """Run one assay CLI command; its stdout (the token for ``token create``)."""
    done = subprocess.run(
        [ASSAY, *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"assay {' '.join(args)} failed: {done.stderr.strip()[-400:]}")
    return done.stdout.strip()


def setup_people(data_dir: Path, *, annotators: int) -> tuple[str, list[str]]:
    """Organisation, a manager and ``annotators`` annotators, each with an API token (all via the CLI)."""
    cli("org", "create", ORG, data_dir=data_dir)
    cli("user", "create", "--org", ORG, "--email", MANAGER, "--role", "manager", data_dir=data_dir)
    manager = cli("token", "create", "--org", ORG, "--email", MANAGER, data_dir=data_dir)

    def one(i: int) -> str:
        email = f"ann{i:02d}@bench.test"
        cli(
            "user",
            "create",
            "--org",
            ORG,
            "--email",
            email,
            "--role",
            "annotator",
            "--workforce",
            "crowd",
            data_dir=data_dir,
        )
        return cli("token", "create", "--org", ORG, "--email", email, data_dir=data_dir)

    # The first annotator creates the workforce; the rest run two at a time (two cores).
    tokens = [one(0)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        tokens += list(pool.map(one, range(1, annotators)))
    return manager, tokens


class AssayServer:
    """``assay serve`` as a subprocess on 127.0.0.1."""

    def __init__(self, data_dir: Path, port: int, *, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = port
        self.env = {**_env(), **(env or {})}
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> float:
        """Start the server; seconds from process start to the first successful HTTP response."""
        log = open(self.data_dir / "serve.log", "ab")  # noqa: SIM115 - the child owns it until stop
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                ASSAY,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        log.close()
        proc = self.proc
        return wait_http(
            f"{self.base}/healthz", started=started, timeout=120, alive=lambda: proc.poll() is None
        )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def idle_rss(self) -> float:
        time.sleep(2)  # let start-up garbage settle before reading
        return rss_mb(self.pid)


def client(base: str, token: str, *, timeout: float = 900) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)


def create_project(mgr: httpx.Client, name: str) -> int:
    r = mgr.post("/api/v1/projects", json={"name": name, "schema": SCHEMA, "settings": {"overlap": OVERLAP}})
    if r.status_code != 201:
        raise RuntimeError(f"project create: {r.status_code} {r.text[:300]}")
    return int(r.json()["id"])


def ndjson(start: int, count: int) -> bytes:
    return b"".join(
        orjson.dumps({"data": {"text": item_text(i)}}) + b"\n" for i in range(start, start + count)
    )


def import_items(mgr: httpx.Client, project_id: int, body: bytes) -> tuple[float, int]:
    """One import request; (wall seconds, items imported)."""
    t0 = time.perf_counter()
    r = mgr.post(
        f"/api/v1/projects/{project_id}/items", content=body, headers={"Content-Type": "application/x-ndjson"}
    )
    wall = time.perf_counter() - t0
    if r.status_code != 201:
        raise RuntimeError(f"import: {r.status_code} {r.text[:300]}")
    return wall, int(r.json()["imported"])


def lease_fn(project_id: int) -> Any:
    def lease(c: httpx.Client) -> tuple[int, Any] | None:
        r = c.get(f"/api/v1/projects/{project_id}/next")
        if r.status_code == 204:
            return None
        if r.status_code != 200:
            raise RuntimeError(f"next {r.status_code}: {r.text[:120]}")
        body = r.json()
        return int(body["item"]["id"]), int(body["assignment_id"])

    return lease


def answer(c: httpx.Client, assignment_id: Any) -> bool:
    r = c.post(
        f"/api/v1/assignments/{assignment_id}/submit",
        json=ANSWER,
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    if r.status_code != 201:
        raise RuntimeError(f"submit {r.status_code}: {r.text[:120]}")
    return True


def seed_answers(data_dir: Path, *, project_id: int) -> int:
    """Answer every still-untouched item of a project directly in the database (server stopped).

    Annotating 100,000 items through the API would take the benchmark far longer than the export it
    sets up; the rows written are the ones ``submit`` writes (a submitted assignment + an annotation
    + the item's counters), spread over the project's annotators.
    """
    import sqlalchemy as sa

    from assay.storage.engine import Database
    from assay.storage.tables import annotations, assignments, items, memberships

    db = Database(f"sqlite:///{(data_dir / 'assay.db').resolve()}")
    at = datetime.now(UTC)
    try:
        with db.write() as conn:
            people = conn.execute(
                sa.select(
                    memberships.c.id, memberships.c.user_id, memberships.c.workforce_id, memberships.c.org_id
                )
                .where(memberships.c.role == "annotator")
                .order_by(memberships.c.id)
            ).all()
            todo = [
                int(r.id)
                for r in conn.execute(
                    sa.select(items.c.id).where(items.c.project_id == project_id, items.c.claimed == 0)
                )
            ]
            for start in range(0, len(todo), 20000):
                chunk = todo[start : start + 20000]
                rows = []
                for n, item_id in enumerate(chunk):
                    who = people[(start + n) % len(people)]
                    rows.append(
                        {
                            "org_id": who.org_id,
                            "project_id": project_id,
                            "item_id": item_id,
                            "user_id": who.user_id,
                            "membership_id": who.id,
                            "status": "submitted",
                            "display_order": None,
                            "created_at": at,
                            "expires_at": at,
                            "finished_at": at,
                        }
                    )
                conn.execute(assignments.insert(), rows)
                ids = conn.execute(
                    sa.select(assignments.c.id, assignments.c.item_id, assignments.c.user_id).where(
                        assignments.c.project_id == project_id,
                        assignments.c.item_id.in_(chunk),
                        assignments.c.created_at == at,
                    )
                ).all()
                wf = {p.user_id: p.workforce_id for p in people}
                conn.execute(
                    annotations.insert(),
                    [
                        {
                            "org_id": people[0].org_id,
                            "project_id": project_id,
                            "item_id": a.item_id,
                            "assignment_id": a.id,
                            "user_id": a.user_id,
                            "workforce_id": wf[a.user_id],
                            "answers": ANSWER["answers"],
                            "duration_ms": ANSWER["duration_ms"],
                            "idempotency_key": None,
                            "request_hash": "seeded",
                            "created_at": at,
                        }
                        for a in ids
                    ],
                )
                conn.execute(
                    items.update()
                    .where(items.c.id.in_(chunk))
                    .values(claimed=items.c.claimed + 1, answered=items.c.answered + 1, open=False)
                )
    finally:
        db.dispose()
    return len(todo)


def export_jsonl(mgr: httpx.Client, project_id: int, out: Path) -> tuple[float, int]:
    """Stream the JSONL export to a file; (wall seconds, bytes)."""
    t0 = time.perf_counter()
    size = 0
    with mgr.stream("GET", f"/api/v1/projects/{project_id}/export", params={"format": "jsonl"}) as r:
        if r.status_code != 200:
            raise RuntimeError(f"export: {r.status_code} {r.read()[:300]!r}")
        with open(out, "wb") as fh:
            for chunk in r.iter_bytes():
                fh.write(chunk)
                size += len(chunk)
    return time.perf_counter() - t0, size


def check_export(path: Path) -> dict[str, int]:
    """Items in the export, and how many carry more answers than the overlap (or none)."""
    lines = over = empty = 0
    with open(path, "rb") as fh:
        for line in fh:
            rec = orjson.loads(line)
            lines += 1
            n = len(rec["annotations"])
            over += n > OVERLAP
            empty += n == 0
    return {"items": lines, "items_over_overlap": over, "items_without_answers": empty}
