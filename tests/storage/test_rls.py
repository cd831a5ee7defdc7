"""Row-level security on PostgreSQL: a second wall that holds even when a query forgets its org filter.

Superusers skip every policy, so these tests connect through an ordinary role
(NOSUPERUSER NOBYPASSRLS) that also owns the tables: the policies are forced, so even the owner obeys.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.settings import Config
from assay.storage import migrate
from assay.storage.engine import Database, current_org, org_scope
from assay.storage.tables import metadata
from assay.web.app import create_app
from tests.conftest import PG_URL
from tests.factories import TEXT_SCHEMA, make_member, make_org
from tests.web import test_isolation as isolation


def test_sqlite_has_no_row_level_security(tmp_path: Path) -> None:
    # Recorded as a skip so a reader of the report sees the wall is PostgreSQL-only.
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        migrate.upgrade(db)  # the RLS revision is a no-op here and must not fail
        assert migrate.current(db) == migrate.head()
    finally:
        db.dispose()
    pytest.skip("SQLite has no row-level security; the wall is PostgreSQL-only (scoped queries remain)")


@pytest.fixture
def app_role_url(pg_schemas: Callable[[], str]) -> Iterator[str]:
    """A migrated schema owned by a fresh non-superuser role; the URL connects as that role."""
    url = pg_schemas()
    schema = url.rsplit("%3D", 1)[1]
    role = "assay_app_" + uuid.uuid4().hex[:10]
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB")
        conn.exec_driver_sql(f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}")
    role_url = f"{url}%20-crole%3D{role}"
    try:
        db = Database(role_url)
        try:
            with db.read() as conn:
                assert conn.exec_driver_sql("SELECT current_user").scalar() == role
                assert (
                    conn.exec_driver_sql(
                        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
                    ).scalar()
                    is False
                )
            migrate.upgrade(db)  # the role owns every table: only FORCE makes the policies bind it
        finally:
            db.dispose()
        yield role_url
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role} CASCADE")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


@pytest.fixture
def role_hub(app_role_url: str, tmp_path: Path) -> Iterator[Assay]:
    config = Config(data_dir=tmp_path, database_url=app_role_url)
    with Assay(config, rng=random.Random(20261128)) as hub:
        yield hub


def _org_id(hub: Assay, slug: str) -> int:
    with hub.db.read() as conn:
        value = conn.execute(
            sa.text("SELECT id FROM organizations WHERE slug = :s"), {"s": slug}
        ).scalar_one()
    return int(value)


def _project(api: TestClient, headers: dict[str, str], name: str) -> int:
    response = api.post("/api/v1/projects", json={"name": name, "schema": TEXT_SCHEMA}, headers=headers)
    assert response.status_code == 201, response.text
    project_id = int(response.json()["id"])
    items = [{"data": {"text": f"{name} {i}"}} for i in range(3)]
    imported = api.post(f"/api/v1/projects/{project_id}/items", json=items, headers=headers)
    assert imported.status_code in (200, 201), imported.text
    return project_id


def test_every_tenant_table_has_a_forced_policy(app_role_url: str) -> None:
    tenant = {t.name for t in metadata.sorted_tables if "org_id" in t.c}
    db = Database(app_role_url)
    try:
        with db.read() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                    "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                )
            ).all()
    finally:
        db.dispose()
    secured = {r.relname for r in rows if r.relrowsecurity and r.relforcerowsecurity and r.policies >= 1}
    assert secured == tenant, "a table with org_id must get a forced row-level security policy"
    assert {"organizations", "users"} & secured == set()


def test_a_query_without_its_org_filter_sees_and_writes_only_its_org(role_hub: Assay) -> None:
    slug_a, slug_b = make_org(role_hub), make_org(role_hub)
    manager_a = make_member(role_hub, slug_a, role="manager")
    manager_b = make_member(role_hub, slug_b, role="manager")
    with TestClient(create_app(role_hub)) as api:
        project_a = _project(api, manager_a.headers, "a-project")
        project_b = _project(api, manager_b.headers, "b-project")
    org_a, org_b = _org_id(role_hub, slug_a), _org_id(role_hub, slug_b)
    db = role_hub.db

    with org_scope(org_a):
        with db.read() as conn:  # no WHERE org_id: the policy filters
            projects = conn.execute(sa.text("SELECT id, org_id FROM projects")).all()
            items = conn.execute(sa.text("SELECT org_id FROM items")).scalars().all()
            members = conn.execute(sa.text("SELECT DISTINCT org_id FROM memberships")).scalars().all()
        assert [(p.id, p.org_id) for p in projects] == [(project_a, org_a)]
        assert items and set(items) == {org_a}
        assert members == [org_a]
        with db.write() as conn:  # an unfiltered write touches only org A's rows
            renamed = conn.execute(sa.text("UPDATE items SET priority = 7")).rowcount
        assert renamed == 3
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), db.write() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO projects (org_id, name, description, schema, settings, created_at) "
                    "SELECT :b, 'planted', '', schema, settings, created_at FROM projects"
                ),
                {"b": org_b},
            )
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), db.write() as conn:
            conn.execute(sa.text("UPDATE projects SET org_id = :b"), {"b": org_b})  # moving a row out
        with db.write() as conn:
            deleted = conn.execute(
                sa.text("DELETE FROM items WHERE project_id = :p"), {"p": project_b}
            ).rowcount
        assert deleted == 0
    assert current_org.get() is None

    with db.read() as conn:  # system scope (the operator, migrations, backups) sees every organisation
        by_org: dict[int, int] = dict(
            conn.execute(sa.text("SELECT org_id, count(*) FROM items GROUP BY org_id")).all()
        )
        priorities: dict[int, int] = dict(
            conn.execute(sa.text("SELECT org_id, max(priority) FROM items GROUP BY org_id")).all()
        )
    assert by_org == {org_a: 3, org_b: 3}
    assert priorities[org_a] == 7 and priorities[org_b] != 7


def test_the_org_setting_ends_with_its_transaction(role_hub: Assay) -> None:
    make_member(role_hub, make_org(role_hub), role="manager")
    with org_scope(12345), role_hub.db.read() as conn:
        assert conn.exec_driver_sql("SELECT current_setting('assay.org_id', true)").scalar() == "12345"
        assert conn.exec_driver_sql("SELECT count(*) FROM memberships").scalar() == 0
    # The pooled connection comes back without the setting: system scope again.
    with role_hub.db.read() as conn:
        assert conn.exec_driver_sql("SELECT current_setting('assay.org_id', true)").scalar() in (None, "")
        assert conn.exec_driver_sql("SELECT count(*) FROM memberships").scalar() == 1


def test_an_api_request_runs_in_its_actors_org(role_hub: Assay) -> None:
    slug = make_org(role_hub)
    manager = make_member(role_hub, slug, role="manager")
    seen: list[Any] = []

    def record(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "projects" in statement:
            seen.append(conn.exec_driver_sql("SELECT current_setting('assay.org_id', true)").scalar())

    engine = role_hub.db.write_engine
    with TestClient(create_app(role_hub)) as api:
        sa.event.listen(engine, "after_cursor_execute", record)
        try:
            assert api.get("/api/v1/projects", headers=manager.headers).status_code == 200
        finally:
            sa.event.remove(engine, "after_cursor_execute", record)
    assert seen and set(seen) == {str(_org_id(role_hub, slug))}


def test_the_isolation_canary_holds_through_an_ordinary_role(role_hub: Assay) -> None:
    with TestClient(create_app(role_hub), raise_server_exceptions=False) as api:
        isolation.test_nothing_of_organisation_b_reaches_organisation_a(role_hub, api)
