"""The audit log is append-only: the database refuses to rewrite or erase it, and no code tries to."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

import assay
from assay.storage import audit, migrate
from assay.storage.engine import Database
from assay.storage.tables import audit_events

SRC = Path(assay.__file__).parent


def _count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one())


def test_update_and_delete_of_audit_events_fail(db_url: str) -> None:
    db = Database(db_url)
    try:
        migrate.upgrade(db, "heads")
        with db.write() as conn:
            audit.record(conn, action="test.denied", allowed=False, status=403, detail={"n": 1})
        attempts = [
            audit_events.update().values(allowed=True),
            audit_events.update().where(audit_events.c.action == "test.denied").values(status=200),
            audit_events.delete(),
            audit_events.delete().where(audit_events.c.action == "test.denied"),
        ]
        statements: list[sa.Executable | str] = [*attempts]
        if db.dialect == "postgresql":
            statements.append("TRUNCATE audit_events")
        for statement in statements:
            with (
                pytest.raises(sa.exc.DBAPIError, match="audit_events is append-only"),
                db.write() as conn,
            ):
                if isinstance(statement, str):
                    conn.exec_driver_sql(statement)
                else:
                    conn.execute(statement)
        with db.read() as conn:
            row = conn.execute(sa.select(audit_events)).one()
        assert (row.allowed, row.status, row.action) == (False, 403, "test.denied")
        # Appending still works.
        with db.write() as conn:
            audit.record(conn, action="test.allowed", allowed=True, status=200)
        assert _count(db) == 2
    finally:
        db.dispose()


WRITES = re.compile(
    r"audit_events\s*\.\s*(update|delete)\s*\("
    r"|\b(UPDATE|DELETE\s+FROM|TRUNCATE(\s+TABLE)?)\s+\"?audit_events\b",
    re.IGNORECASE,
)


def test_no_code_updates_or_deletes_audit_events() -> None:
    offenders = []
    sources = sorted(SRC.rglob("*.py"))
    assert len(sources) > 50
    for path in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if WRITES.search(line):
                offenders.append(f"{path.relative_to(SRC.parent)}:{number}: {line.strip()}")
    assert not offenders, "code that rewrites or erases the audit log:\n" + "\n".join(offenders)
    # The pattern itself finds what it must.
    assert WRITES.search("conn.execute(audit_events.delete().where(x))")
    assert WRITES.search('op.execute("UPDATE audit_events SET allowed = true")')
    assert WRITES.search("DELETE FROM audit_events")
