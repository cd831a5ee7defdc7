"""SQLite's writers of every process queue on one lock file beside the database (``flock``), held
from a write transaction's BEGIN until its connection goes back to the pool, so a request waiting
behind an import is woken when the lock is let go instead of sleeping in SQLite's busy handler."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from assay.storage.engine import Database
from assay.storage.tables import metadata


def _free(lock: Path) -> bool:
    """Whether another process could take the writer lock now (a second open file description
    conflicts with the engine's, as another process's would)."""
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_a_write_transaction_holds_the_writer_lock_and_lets_it_go(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'assay.db'}")
    try:
        metadata.create_all(db.write_engine)
        lock = tmp_path / "assay.db-writer"
        assert lock.exists() and (lock.stat().st_mode & 0o777) == 0o600
        assert _free(lock)
        with db.write() as conn:
            conn.exec_driver_sql("SELECT 1")
            assert not _free(lock)
            with db.read() as reader:  # readers never take it
                reader.exec_driver_sql("SELECT 1")
        assert _free(lock)
        with pytest.raises(RuntimeError), db.write():
            assert not _free(lock)
            raise RuntimeError("rolled back")
        assert _free(lock)  # a rolled-back transaction lets it go as well
        with db.read() as conn:
            conn.exec_driver_sql("SELECT 1")
            assert _free(lock)
    finally:
        db.dispose()
