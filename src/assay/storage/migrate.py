"""Schema migrations (Alembic), run programmatically: no alembic.ini is needed at run time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from assay.storage.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@contextlib.contextmanager
def _sqlite_lock(db: Database) -> Iterator[None]:
    """Serialise migrations of one SQLite file across processes with a lock file beside it.

    SQLite has no transactional DDL in Alembic's eyes, so each revision commits on its own and the
    current revision is read once at the start: two servers starting at once on a fresh file would
    both read "empty" and the second would fail re-creating what the first made.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: start one server first
        yield
        return
    database = db.write_engine.url.database
    assert database  # in-memory databases are refused by Database
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the database to ``revision``; safe to run from several processes at once."""
    cfg = _config()
    lock = _sqlite_lock(db) if db.dialect == "sqlite" else contextlib.nullcontext()
    with lock, db.write_engine.connect() as conn:
        if db.dialect == "postgresql":
            # Serialise concurrent `assay serve` start-ups: only one runs the migrations.
            conn.exec_driver_sql("SELECT pg_advisory_lock(724331)")
            conn.commit()
        else:
            # A revision that rebuilds a table on SQLite (copy, DROP, rename) must run with foreign
            # keys off: with them on, DROP TABLE fires ON DELETE CASCADE and empties every child
            # table.  The pragma only takes effect outside a transaction, so it goes straight to
            # the driver before SQLAlchemy begins one; the references are checked afterwards.
            _sqlite_foreign_keys(conn, on=False)
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
        finally:
            if db.dialect == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_unlock(724331)")
                conn.commit()
            else:
                conn.rollback()  # nothing is left open after a commit; after a failure, undo it
                _sqlite_foreign_keys(conn, on=True)


def _sqlite_foreign_keys(conn: Connection, *, on: bool) -> None:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    if on:
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        raw.execute("PRAGMA foreign_keys=ON")
        if broken:
            raise RuntimeError(f"a migration left {len(broken)} broken references, e.g. {broken[0]}")
    else:
        raw.execute("PRAGMA foreign_keys=OFF")


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
