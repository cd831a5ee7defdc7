"""Backup and restore across backends; the restored copy keeps tenants apart."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.errors import Conflict, Invalid
from assay.settings import Config
from assay.storage import backup
from assay.storage.engine import Database
from assay.web.app import create_app
from tests.factories import TEXT_SCHEMA, make_member, make_org, text_items
from tests.web.test_isolation import assert_canary_stays_in_b, plant_canary


def _populate(hub: Assay) -> dict[str, object]:
    with TestClient(create_app(hub)) as api:
        org_a, org_b = make_org(hub), make_org(hub)
        manager_a = make_member(hub, org_a, role="manager")
        manager_b = make_member(hub, org_b, role="manager")
        annotator = make_member(hub, org_a, workforce="Vendor A", vendor=True)
        body = {"name": "p", "schema": TEXT_SCHEMA, "settings": {"overlap": 2}}
        project_a = api.post("/api/v1/projects", json=body, headers=manager_a.headers).json()["id"]
        project_b = api.post("/api/v1/projects", json=body, headers=manager_b.headers).json()["id"]
        api.post(f"/api/v1/projects/{project_a}/items", json=text_items(5), headers=manager_a.headers)
        api.post(f"/api/v1/projects/{project_b}/items", json=text_items(3), headers=manager_b.headers)
        lease = api.get(f"/api/v1/projects/{project_a}/next", headers=annotator.headers).json()
        api.post(
            f"/api/v1/assignments/{lease['assignment_id']}/submit",
            json={"answers": {"sentiment": "positive"}},
            headers=annotator.headers,
        )
        canary = plant_canary(hub, api)
    return {
        "canary": canary,
        "manager_a": manager_a,
        "manager_b": manager_b,
        "annotator": annotator,
        "project_a": project_a,
        "project_b": project_b,
    }


@pytest.mark.parametrize("target", ["sqlite", "postgresql"])
def test_backup_restores_into_either_backend_and_keeps_isolation(
    hub: Assay, target: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    made = _populate(hub)
    file = tmp_path / "assay.backup"
    counts = backup.backup_file(hub.db, file)
    assert counts["items"] == 10 and counts["annotations"] == 2  # incl. the canary organisation
    url = (
        f"sqlite:///{tmp_path / 'restored.db'}"
        if target == "sqlite"
        else request.getfixturevalue("pg_schemas")()
    )
    restored_db = Database(url)
    try:
        assert backup.restore_file(restored_db, file) == {k: v for k, v in counts.items() if v}
        restored = Assay(Config(data_dir=tmp_path, database_url=url), db=restored_db)
        manager_a, manager_b, annotator = made["manager_a"], made["manager_b"], made["annotator"]
        with TestClient(create_app(restored)) as api:
            # Tokens still work (their hashes came along) and tenants stay apart.
            assert (
                api.get(f"/api/v1/projects/{made['project_a']}", headers=manager_a.headers).status_code == 200
            )  # type: ignore[attr-defined]
            assert (
                api.get(f"/api/v1/projects/{made['project_a']}", headers=manager_b.headers).status_code == 404
            )  # type: ignore[attr-defined]
            item = api.get("/api/v1/items/1", headers=manager_b.headers)  # type: ignore[attr-defined]
            assert item.status_code == 404
            # New rows continue after the restored ids.
            lease = api.get(f"/api/v1/projects/{made['project_a']}/next", headers=annotator.headers)  # type: ignore[attr-defined]
            assert lease.status_code == 200 and lease.json()["assignment_id"] == 3
            with pytest.raises(Conflict, match="not empty"):
                backup.restore_file(restored_db, file)
            # The isolation canary planted before the backup stays in its organisation afterwards.
            assert_canary_stays_in_b(restored, api, made["canary"])
    finally:
        restored_db.dispose()


def test_damaged_backups_are_refused_and_restore_nothing(db_url: str) -> None:
    db = Database(db_url)  # a fresh, unmigrated database, as `assay db restore` meets it
    try:
        _refuse_damaged(db)
    finally:
        db.dispose()


def _refuse_damaged(db: Database) -> None:
    with pytest.raises(Invalid, match="not an assay backup"):
        backup.restore(db, io.BytesIO(b"plain text"))
    truncated = io.BytesIO()
    with gzip.GzipFile(fileobj=truncated, mode="wb") as gz:
        gz.write(b'{"format": "assay-backup", "version": 1, "revision": "0001"}\n')
        gz.write(
            b'{"t": "organizations", "r": {"id": 1, "slug": "a", "name": "A", "created_at": "2026-01-01T00:00:00+00:00"}}\n'
        )
    truncated.seek(0)
    with pytest.raises(Invalid, match="truncated"):
        backup.restore(db, truncated)
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM organizations").scalar() == 0
