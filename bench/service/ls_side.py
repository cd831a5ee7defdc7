"""Label Studio 1.23.2 as the anchor, started with the shared helper ``../shared/bench/label_studio.sh``."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from common import OVERLAP, item_text, rss_mb, wait_http

SHARED = Path(os.environ.get("ASSAY_SHARED_DIR", "../shared"))
SCRIPT = SHARED / "bench" / "label_studio.sh"
ADMIN_TOKEN = "anchortoken000000000000000000000000000001"  # the helper's default LS_TOKEN
CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
    '<Choice value="positive"/><Choice value="neutral"/><Choice value="negative"/></Choices></View>'
)
RESULT = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["neutral"]}}]


def _home() -> Path:
    # The helper keeps its virtualenv and pid file here; the same default as the script's.
    tmp = os.environ.get("TMPDIR") or "/tmp"
    return Path(os.environ.get("LS_HOME") or f"{tmp}/assay-anchors")


class LabelStudio:
    """One Label Studio server on 127.0.0.1 with its data in ``data_dir``."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "LS_DATA": str(self.data_dir),
            "LS_PORT": str(port),
            "LS_TOKEN": ADMIN_TOKEN,
        }
        self.pid = 0

    def start(self) -> float:
        """Start through the helper; seconds from launch to the first successful HTTP response."""
        started = time.perf_counter()
        helper = subprocess.Popen(
            ["bash", str(SCRIPT), "start"], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            # Poll ourselves at 20 ms (the helper polls every 0.5 s) while it waits for the server.
            seconds = wait_http(
                f"{self.base}/health/", started=started, timeout=600, alive=lambda: helper.poll() in (None, 0)
            )
        finally:
            out, _ = helper.communicate(timeout=60)
        if helper.returncode != 0:
            raise RuntimeError(f"label_studio.sh start failed: {out.decode()[-400:]}")
        self.pid = int((_home() / "ls.pid").read_text().strip())
        return seconds

    def stop(self) -> None:
        if not self.pid:
            return
        subprocess.run(
            ["bash", str(SCRIPT), "stop"], env=self.env, capture_output=True, timeout=60, check=False
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and Path(f"/proc/{self.pid}").exists():
            time.sleep(0.2)
        if Path(f"/proc/{self.pid}").exists():
            os.kill(self.pid, signal.SIGKILL)
        self.pid = 0

    def idle_rss(self) -> float:
        time.sleep(2)
        return rss_mb(self.pid)

    def admin(self) -> httpx.Client:
        return self.client(ADMIN_TOKEN)

    def client(self, token: str, *, timeout: float = 3600) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Token {token}"}, timeout=timeout)

    def annotators(self, count: int) -> list[tuple[int, str]]:
        """Create ``count`` users through the API; (user id, legacy API token) each."""
        made = []
        with self.admin() as admin:
            for i in range(count):
                email = f"ann{i:02d}@bench.test"
                r = admin.post("/api/users/", json={"email": email, "username": email, "first_name": f"a{i}"})
                if r.status_code != 201:
                    raise RuntimeError(f"LS user create: {r.status_code} {r.text[:300]}")
                made.append(int(r.json()["id"]))
        # Label Studio shows a user's token only to that user's own session; read it from its database.
        db = sqlite3.connect(self.data_dir / "label_studio.sqlite3", timeout=60)
        try:
            keys = dict(db.execute("SELECT user_id, key FROM authtoken_token").fetchall())
        finally:
            db.close()
        return [(uid, str(keys[uid])) for uid in made]


def create_project(admin: httpx.Client, title: str) -> int:
    r = admin.post(
        "/api/projects/", json={"title": title, "label_config": CONFIG, "maximum_annotations": OVERLAP}
    )
    if r.status_code != 201:
        raise RuntimeError(f"LS project create: {r.status_code} {r.text[:300]}")
    return int(r.json()["id"])


def tasks(start: int, count: int, *, annotated_by: int | None = None) -> bytes:
    if annotated_by is None:
        rows: list[dict[str, Any]] = [{"text": item_text(i)} for i in range(start, start + count)]
    else:
        rows = [
            {
                "data": {"text": item_text(i)},
                "annotations": [{"result": RESULT, "completed_by": annotated_by}],
            }
            for i in range(start, start + count)
        ]
    return orjson.dumps(rows)


def import_tasks(admin: httpx.Client, project_id: int, body: bytes) -> tuple[float, int]:
    t0 = time.perf_counter()
    r = admin.post(
        f"/api/projects/{project_id}/import", content=body, headers={"Content-Type": "application/json"}
    )
    wall = time.perf_counter() - t0
    if r.status_code != 201:
        raise RuntimeError(f"LS import: {r.status_code} {r.text[:300]}")
    return wall, int(r.json()["task_count"])


def lease_fn(project_id: int) -> Any:
    def lease(c: httpx.Client) -> tuple[int, Any] | None:
        r = c.get(f"/api/projects/{project_id}/next")
        if r.status_code == 404:  # nothing left for this user
            return None
        if r.status_code != 200:
            raise RuntimeError(f"next {r.status_code}: {r.text[:120]}")
        task_id = int(r.json()["id"])
        return task_id, task_id

    return lease


def answer(c: httpx.Client, task_id: Any) -> bool:
    r = c.post(f"/api/tasks/{task_id}/annotations/", json={"result": RESULT, "lead_time": 1.2})
    if r.status_code != 201:
        raise RuntimeError(f"annotate {r.status_code}: {r.text[:120]}")
    return True


def export_json(admin: httpx.Client, project_id: int, out: Path) -> tuple[float, int]:
    """Label Studio's export API (JSON; it has no JSONL), streamed to a file."""
    t0 = time.perf_counter()
    size = 0
    with admin.stream("GET", f"/api/projects/{project_id}/export", params={"exportType": "JSON"}) as r:
        if r.status_code != 200:
            raise RuntimeError(f"LS export: {r.status_code} {r.read()[:300]!r}")
        with open(out, "wb") as fh:
            for chunk in r.iter_bytes():
                fh.write(chunk)
                size += len(chunk)
    return time.perf_counter() - t0, size


def check_export(path: Path) -> dict[str, int]:
    data = orjson.loads(path.read_bytes())
    counts = [len(t.get("annotations", [])) for t in data]
    return {
        "items": len(counts),
        "items_over_overlap": sum(1 for n in counts if n > OVERLAP),
        "items_without_answers": sum(1 for n in counts if n == 0),
    }
