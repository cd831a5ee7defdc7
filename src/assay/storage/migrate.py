"""Schema migrations (Alembic), run programmatically: no alembic.ini is needed at run time."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from assay.storage.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the database to ``revision``; safe to run from several processes at once on PostgreSQL."""
    cfg = _config()
    with db.write_engine.connect() as conn:
        if db.dialect == "postgresql":
            # Serialise concurrent `assay serve` start-ups: only one runs the migrations.
            conn.exec_driver_sql("SELECT pg_advisory_lock(724331)")
            conn.commit()
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
        finally:
            if db.dialect == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_unlock(724331)")
                conn.commit()


def current(db: Database) -> str | None:
    with db.read_engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def known(revision: str) -> bool:
    """Is ``revision`` one of this version's migrations?"""
    try:
        return ScriptDirectory.from_config(_config()).get_revision(revision) is not None
    except Exception:  # alembic raises several kinds of errors for an unknown revision id
        return False
