"""Engines and the one write path per backend.

SQLite: WAL, foreign keys on, a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE`` so that two writers never deadlock on a lock upgrade (the failure mode of
SQLite's default deferred transactions).  Writers of different processes (the server, its job and
import processes, a CLI command) queue for SQLite's one write lock on a lock file beside the
database (``flock``), not in SQLite's busy handler: that one sleeps 25 to 100 ms between tries,
so a request waiting behind an import that writes chunk after chunk lost race after race (one
`submit` waited 1.5 s while the import held the lock for milliseconds at a time), where the
kernel wakes a waiter the moment the lock is let go.  Reads use plain deferred transactions and never block
writers under WAL.  PostgreSQL: one pooled engine; overlap and idempotency are enforced by guarded
UPDATEs and unique constraints, so READ COMMITTED is enough.

Row-level security (PostgreSQL): every query is scoped by organisation in SQL already; as a second
wall, migration 0005 forces a policy on every tenant table that admits only the rows of the
organisation named by the transaction-local setting ``assay.org_id``.  The contextvar
``current_org`` carries that organisation: an authenticated request sets it once the actor is
known, and each transaction then starts with ``set_config('assay.org_id', …, true)``.  Unset means
system scope (authentication lookups that span organisations, the operator's CLI, migrations,
backup and restore).  SQLite has no row-level security; the setting is not used there.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

from assay.errors import Invalid

T = TypeVar("T")
IN_LIST_MAX = 500  # values per IN (...) list: well under SQLite's bound on a statement's parameters


def in_chunks(values: Sequence[T], size: int = IN_LIST_MAX) -> Iterator[Sequence[T]]:
    """``values`` in slices short enough for one ``IN (...)`` list on either backend."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


#: The organisation the current request acts in (None: system scope).  Contextvars follow the work
#: into the threadpool (anyio copies the context), so a sync route sees what its request set.
current_org: ContextVar[int | None] = ContextVar("assay_current_org", default=None)


@contextmanager
def org_scope(org_id: int | None) -> Iterator[None]:
    """Run a block in one organisation's scope (None: system scope), restoring the previous one."""
    token = current_org.set(org_id)
    try:
        yield
    finally:
        current_org.reset(token)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _use_wal(cur: sqlite3.Cursor) -> None:
    """Switch the database file to WAL (it stays so).  Switching needs a moment of exclusive access
    and SQLite answers "database is locked" at once, without waiting, when another process holds a
    lock then (two servers starting on a fresh file), so retry for a while."""
    if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    for _ in range(300):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(0.1)
    cur.execute("PRAGMA journal_mode=WAL")


def _sqlite_engine(url: str, *, write: bool) -> Engine:
    engine = sa.create_engine(
        url,
        json_serializer=_dumps,
        json_deserializer=orjson.loads,
        connect_args={"check_same_thread": False, "timeout": 60},
        # The driver's own transaction handling is switched off; we emit BEGIN ourselves.
        isolation_level=None,
        pool_size=1 if write else 8,
        max_overflow=0 if write else 8,
        pool_timeout=120,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=60000")
        _use_wal(cur)
        cur.execute("PRAGMA foreign_keys=ON")
        # NORMAL in WAL mode is durable across a crash of the process (kill -9); only a power loss can
        # drop the last transactions.  FULL would cost an fsync per submit.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()

    if not write:

        @event.listens_for(engine, "begin")
        def _on_begin_read(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine

    lock_path = f"{sa.engine.make_url(url).database}-writer"

    @event.listens_for(engine, "connect")
    def _open_writer_lock(_dbapi_conn: sqlite3.Connection, record: Any) -> None:
        if fcntl is not None:
            record.info["writer_lock"] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        fd = conn.connection.info.get("writer_lock")
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until the connection goes back to the pool
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "checkin")
    def _release_writer_lock(_dbapi_conn: Any, record: Any) -> None:
        fd = record.info.get("writer_lock")
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)

    @event.listens_for(engine, "close")
    def _close_writer_lock(_dbapi_conn: Any, record: Any) -> None:
        fd = record.info.pop("writer_lock", None)
        if fd is not None:
            os.close(fd)  # lets go of the lock too

    return engine


def _scope_transaction(conn: Connection) -> None:
    """Name the transaction's organisation for the row-level security policies (PostgreSQL).

    ``is_local`` = true: the setting ends with the transaction, so a pooled connection never carries
    one request's organisation into the next.
    """
    org = current_org.get()
    if org is not None:
        conn.exec_driver_sql("SELECT set_config('assay.org_id', %(org)s, true)", {"org": str(int(org))})


class Database:
    """The storage hub: a read engine and a write engine (the same one on PostgreSQL)."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        parsed = sa.engine.make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            else:
                raise Invalid("an in-memory SQLite database cannot be shared between connections; use a file")
            self.read_engine = _sqlite_engine(url, write=False)
            self.write_engine = _sqlite_engine(url, write=True)
        elif self.dialect == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            engine = sa.create_engine(
                parsed,
                json_serializer=_dumps,
                json_deserializer=orjson.loads,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
            )
            event.listen(engine, "begin", _scope_transaction)
            self.read_engine = self.write_engine = engine
        else:
            raise Invalid(
                f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL (postgresql+psycopg://…)"
            )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.read_engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """The one write path: a short transaction, committed on exit, rolled back on error."""
        with self.write_engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()
