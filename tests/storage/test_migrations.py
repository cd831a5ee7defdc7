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


def test_next_item_index_keeps_its_descending_priority(db_url: str) -> None:
    """`next` reads open items by priority DESC through ix_items_next; a migration that rebuilt the
    table on SQLite once lost the DESC, and every `next` became a sort of all open items."""
    db = Database(db_url)
    try:
        migrate.upgrade(db)
        with db.read() as conn:
            if db.dialect == "sqlite":
                sql = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'ix_items_next'"
                ).scalar_one()
                plan = " ".join(
                    str(row[-1])
                    for row in conn.exec_driver_sql(
                        "EXPLAIN QUERY PLAN SELECT id FROM items WHERE project_id = 1 AND is_gold IS 0 "
                        "AND open IS 1 ORDER BY priority DESC, id LIMIT 32"
                    )
                )
                assert "TEMP B-TREE" not in plan, plan
            else:
                sql = conn.exec_driver_sql(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_items_next' "
                    "AND schemaname = current_schema()"
                ).scalar_one()
        assert "priority DESC" in sql, sql
    finally:
        db.dispose()


def test_servers_starting_together_on_a_fresh_sqlite_file_migrate_once(tmp_path: object) -> None:
    """Each revision commits on its own on SQLite; without a lock across processes, a second server
    starting at the same moment read "empty" and failed re-creating what the first had made."""
    import threading

    url = f"sqlite:///{tmp_path}/fresh.db"
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def boot() -> None:
        db = Database(url)
        try:
            start.wait()
            migrate.upgrade(db)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=boot) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    db = Database(url)
    try:
        assert migrate.current(db) == migrate.head()
    finally:
        db.dispose()


def test_one_annotators_gold_answers_are_read_through_their_index(db_url: str) -> None:
    """The gold gate after each gold answer reads that annotator's answers in the project; it once
    walked every answer of the project (an OR with an empty workforce list kept the index out)."""
    from assay.storage import gates

    db = Database(db_url)
    try:
        migrate.upgrade(db)
        with db.read() as conn:
            seen: list[str] = []
            execute = conn.execute

            def capture(stmt: object, *args: object, **kwargs: object) -> object:
                seen.append(str(stmt.compile(conn, compile_kwargs={"literal_binds": True})))  # type: ignore[attr-defined]
                return execute(stmt, *args, **kwargs)  # type: ignore[arg-type]

            conn.execute = capture  # type: ignore[method-assign]
            gates.gold_answers(conn, org_id=1, project_id=1, user_ids=[7])
            conn.execute = execute  # type: ignore[method-assign]
            assert " OR " not in seen[0] and "annotations.user_id IN (7)" in seen[0], seen[0]
            if db.dialect != "sqlite":
                return  # PostgreSQL's planner picks among indexes by statistics: on empty tables any
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {seen[0]}"))
        assert "ix_annotations_user" in plan, plan
    finally:
        db.dispose()


def test_the_generation_job_reads_waiting_items_through_their_index(db_url: str) -> None:
    """Each page of waiting items once walked and sorted every item of the project (through
    ix_items_next), so a job over N items read N²/page rows and its time per item grew with N."""
    from assay.storage import models as model_store

    db = Database(db_url)
    try:
        migrate.upgrade(db)
        with db.read() as conn:
            seen: list[str] = []
            execute = conn.execute

            def capture(stmt: object, *args: object, **kwargs: object) -> object:
                seen.append(str(stmt.compile(conn, compile_kwargs={"literal_binds": True})))  # type: ignore[attr-defined]
                return execute(stmt, *args, **kwargs)  # type: ignore[arg-type]

            conn.execute = capture  # type: ignore[method-assign]
            model_store.waiting_page(conn, org_id=1, project_id=1, after=10, limit=200)
            model_store.waiting_count(conn, org_id=1, project_id=1)
            conn.execute = execute  # type: ignore[method-assign]
            if db.dialect != "sqlite":
                return  # PostgreSQL's planner picks among indexes by statistics: on empty tables any
            for sql in seen:
                plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
                assert "ix_items_waiting" in plan and "TEMP B-TREE" not in plan, plan
    finally:
        db.dispose()


def test_0010_keeps_every_row_while_it_moves_credentials_and_revisions(db_url: str) -> None:
    """0010 rebuilds two tables that others reference (users, annotations): with SQLite's foreign
    keys on, a rebuild's DROP TABLE would cascade and empty memberships and reviews.  Every row
    stays; passwords move to memberships; an annotator's own fix becomes a revision; gold items
    count their leases."""
    import sqlalchemy as sa

    from assay.security import hash_password, verify_password

    db = Database(db_url)
    try:
        migrate.upgrade(db, "0009")
        at = "2026-12-01 10:00:00"
        secret = hash_password("old password")
        with db.write() as conn:
            run = conn.exec_driver_sql
            run(f"INSERT INTO organizations (id, slug, name, created_at) VALUES (1, 'a', 'A', '{at}')")
            run(
                "INSERT INTO users (id, email, name, password_hash, active, created_at) VALUES "
                f"(1, 'ann@x', 'Ann', '{secret}', true, '{at}'), (2, 'rev@x', 'Rev', NULL, true, '{at}')"
            )
            run(
                "INSERT INTO memberships (id, org_id, user_id, role, active, created_at) VALUES "
                f"(1, 1, 1, 'annotator', true, '{at}'), (2, 1, 2, 'reviewer', true, '{at}')"
            )
            run(
                "INSERT INTO projects (id, org_id, name, description, schema, settings, created_at) VALUES "
                f"(1, 1, 'p', '', '{{}}', '{{\"overlap\": 2}}', '{at}')"
            )
            run(
                "INSERT INTO items (id, org_id, project_id, data, priority, is_gold, claimed, answered, "
                "open, settled, created_at, gold) VALUES "
                f"(1, 1, 1, '{{}}', 0, false, 1, 1, true, false, '{at}', NULL), "
                f"(2, 1, 1, '{{}}', 0, true, 0, 1, true, false, '{at}', '{{\"q\": 1}}')"
            )
            run(
                "INSERT INTO assignments (id, org_id, project_id, item_id, user_id, membership_id, status, "
                f"created_at, expires_at) VALUES (1, 1, 1, 1, 1, 1, 'submitted', '{at}', '{at}'), "
                f"(2, 1, 1, 2, 1, 1, 'submitted', '{at}', '{at}')"
            )
            run(
                "INSERT INTO annotations (id, org_id, project_id, item_id, assignment_id, user_id, answers, "
                "idempotency_key, request_hash, created_at) VALUES "
                f"(1, 1, 1, 1, 1, 1, '{{\"q\": 1}}', 'k', 'h', '{at}'), "
                f"(2, 1, 1, 2, 2, 1, '{{\"q\": 2}}', 'k2', 'h', '{at}')"
            )
            run(
                "INSERT INTO reviews (id, org_id, annotation_id, reviewer_id, verdict, answers, reason, "
                f"created_at) VALUES (1, 1, 1, 1, 'fix', '{{\"q\": 3}}', 'revised by the annotator', '{at}'), "
                f"(2, 1, 1, 2, 'accept', NULL, NULL, '{at}')"
            )
        migrate.upgrade(db)
        with db.read() as conn:
            run = conn.exec_driver_sql
            assert run("SELECT count(*) FROM memberships").scalar() == 2
            assert run("SELECT count(*) FROM annotations").scalar() == 2
            assert run("SELECT verdict FROM reviews").scalars().all() == ["accept"]  # the own fix moved
            revision = run("SELECT annotation_id, answers FROM annotation_revisions").one()
            assert revision[0] == 1
            hashes = dict(run("SELECT user_id, password_hash FROM memberships").all())
            assert verify_password(hashes[1], "old password") and hashes[2] is None
            assert "password_hash" not in {c["name"] for c in sa.inspect(conn).get_columns("users")}
            assert run("SELECT claimed FROM items WHERE id = 2").scalar() == 1  # the gold item's answer
    finally:
        db.dispose()


def test_0014_keeps_every_membership_as_a_member_who_signs_in(db_url: str) -> None:
    """0014 adds the external-member flag: every membership already there stays as it was, not
    external, with no external name, and still opens its organisation."""
    import sqlalchemy as sa

    from assay.storage import people
    from assay.storage.tables import memberships

    db = Database(db_url)
    try:
        migrate.upgrade(db, "0011")
        at = "2026-12-01 10:00:00"
        with db.write() as conn:
            run = conn.exec_driver_sql
            run(f"INSERT INTO organizations (id, slug, name, created_at) VALUES (1, 'a', 'A', '{at}')")
            run(
                f"INSERT INTO users (id, email, name, active, created_at) VALUES (1, 'ann@x', 'Ann', true, '{at}')"
            )
            run(
                "INSERT INTO memberships (id, org_id, user_id, role, active, created_at) VALUES "
                f"(1, 1, 1, 'annotator', true, '{at}')"
            )
        migrate.upgrade(db)
        with db.read() as conn:
            row = conn.execute(sa.select(memberships.c.external, memberships.c.external_name)).one()
            assert (row.external, row.external_name) == (False, None)
            actor = people.actor_for_membership(conn, membership_id=1)
        assert actor is not None and actor.email == "ann@x"
    finally:
        db.dispose()
