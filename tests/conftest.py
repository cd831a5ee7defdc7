"""Fixtures: a fresh database per test, on SQLite and on PostgreSQL.

Tests that take the ``db`` fixture (directly or through ``hub``/``api``) run once per backend.
PostgreSQL is the one on 127.0.0.1:5432 (database ``test``; override with ASSAY_TEST_PG_URL); each
test gets its own schema, dropped afterwards.  Without PostgreSQL those runs skip with a one-line
notice, except in CI (CI=true), where a missing PostgreSQL is a failure.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from assay.app import Assay
from assay.settings import Config
from assay.storage.engine import Database
from assay.storage.tables import metadata

PG_URL = os.environ.get("ASSAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_pg_state: dict[str, str | None] = {}


def pg_unavailable() -> str | None:
    """None when PostgreSQL answers, else why not (checked once per run)."""
    if "reason" not in _pg_state:
        try:
            engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            engine.dispose()
            _pg_state["reason"] = None
        except Exception as exc:  # any failure to connect means "not available here"
            _pg_state["reason"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return _pg_state["reason"]


def require_pg() -> None:
    reason = pg_unavailable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but {PG_URL} is unavailable: {reason}")
        pytest.skip(f"PostgreSQL not available at {PG_URL} ({reason}); PostgreSQL runs skipped")


def pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_schemas() -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty PostgreSQL schemas (URLs); all dropped after the test."""
    require_pg()
    made: list[str] = []

    def make() -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {name}")
        made.append(name)
        return pg_schema_url(name)

    admin = sa.create_engine(PG_URL)
    try:
        yield make
    finally:
        with admin.begin() as conn:
            for name in made:
                conn.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")
        admin.dispose()


@pytest.fixture
def pg_schema(pg_schemas: Callable[[], str]) -> str:
    """A fresh, empty PostgreSQL schema; its URL."""
    return pg_schemas()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'assay.db'}"
    else:
        yield request.getfixturevalue("pg_schema")


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    metadata.create_all(database.write_engine)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def hub(db: Database, tmp_path: Path) -> Iterator[Assay]:
    config = Config(data_dir=tmp_path, database_url=db.url)
    app_hub = Assay(config, db=db, rng=random.Random(20261127))
    yield app_hub


@pytest.fixture(scope="session")
def model_server() -> Iterator[Any]:
    """A real OpenAI-compatible server with a real model (tests/model_server.py), one per run."""
    from tests import model_server as ms

    reason = ms.unavailable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"a real model server is required in CI: {reason}")
        pytest.skip(f"no real model server here: {reason}")
    server = ms.ModelServer()
    try:
        yield server
    finally:
        server.stop()
