"""The migrations build exactly the tables the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from assay.storage import migrate
from assay.storage.engine import Database
from assay.storage.tables import metadata


def test_upgrade_matches_the_declared_tables_and_is_repeatable(db_url: str) -> None:
    db = Database(db_url)
    try:
        migrate.upgrade(db)
        migrate.upgrade(db)  # a second start-up is a no-op
        assert migrate.current(db) == migrate.head()
        with db.read_engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == []
    finally:
        db.dispose()


def test_sqlite_pragmas_and_immediate_writes(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/x.db")
    try:
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with db.write() as conn:
            # Inside BEGIN IMMEDIATE this connection already holds the write lock.
            assert conn.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
    finally:
        db.dispose()
