"""Many leases running out at once while every annotator asks for the next item on two servers.

Each ``next`` first expires the project's stale leases; concurrent callers must share that work
without failing (a 500 here is an annotator staring at an error page).
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from tests.e2e._support import Team, make_team, read_ledger, text_project
from tests.e2e.conftest import Launch, Server

ANNOTATORS = 32
ROUNDS = 20  # 8 rounds did not always collide; 20 did every time before the fix


def _expire_all(url: str, project_id: int) -> int:
    import sqlalchemy as sa

    from assay.storage.tables import assignments

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            # Spread the expiry times so that the stale leases are not all equal in expires_at order.
            return int(
                conn.execute(
                    assignments.update()
                    .where(assignments.c.project_id == project_id, assignments.c.status == "leased")
                    .values(
                        expires_at=sa.func.now()
                        - sa.literal_column("interval '1 second'") * (assignments.c.id * 7 % 97 + 1)
                    )
                ).rowcount
            )
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_mass_expiry_under_concurrent_next_on_postgresql(
    launch: Launch, pg_schema: str, tmp_path: Path
) -> None:
    servers: list[Server] = [launch(pg_schema, name="a", wait=False), launch(pg_schema, name="b", wait=False)]
    for server in servers:
        server.wait_ready()
    team = make_team(pg_schema, tmp_path / "admin", annotators=ANNOTATORS)
    project_id = text_project(
        servers[0].url, team, n_items=ANNOTATORS * 2 * (ROUNDS + 1), settings={"overlap": 1}
    )
    clients = [
        httpx.Client(base_url=servers[i % 2].url + "/api/v1", headers=Team.headers(token), timeout=60)
        for i, token in enumerate(team.annotators)
    ]
    statuses: list[int] = []
    lock = threading.Lock()

    def ask(client: httpx.Client, barrier: threading.Barrier, times: int) -> None:
        barrier.wait(timeout=60)
        for _ in range(times):
            try:
                code = client.get(f"/projects/{project_id}/next").status_code
            except httpx.HTTPError:
                code = -1  # recorded, not raised: the assertion below reports it with the server's log
            with lock:
                statuses.append(code)

    try:
        for _ in range(ROUNDS):
            barrier = threading.Barrier(len(clients))
            threads = [threading.Thread(target=ask, args=(c, barrier, 2), daemon=True) for c in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            assert _expire_all(pg_schema, project_id) > 0
    finally:
        for c in clients:
            c.close()
    assert set(statuses) == {200}, [tb for s in servers for tb in s.tracebacks()][:1]
    assert read_ledger(pg_schema, project_id).problems() == []
