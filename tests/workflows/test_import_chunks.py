"""An import writes in short transactions, and nobody sees its items before it commits.

An import used to hold the write lock for its whole file (SQLite has one writer): a 1M-item import
stalled every annotator of every organisation for its 14 s.  Now each chunk is its own transaction,
other writers get the lock between chunks, and readers see the items all at once, or not at all.
"""

from __future__ import annotations

import io
from datetime import timedelta

import orjson
import pytest
import sqlalchemy as sa

from assay.app import Assay
from assay.errors import Invalid
from assay.storage import imports as import_store
from assay.storage import projects as project_store
from assay.storage.people import now
from assay.storage.tables import imports, items
from assay.workflows import annotate, ingest
from assay.workflows import projects as project_flows
from assay.workflows.projects import Project
from tests.factories import TEXT_SCHEMA, make_member, make_org, text_items


def _body(records: list[dict[str, object]]) -> io.BytesIO:
    return io.BytesIO(b"".join(orjson.dumps(r) + b"\n" for r in records))


def _setup(hub: Assay) -> tuple[str, Project, Project]:
    org = make_org(hub)
    manager = make_member(hub, org, role="manager").actor(hub)
    big = project_flows.create(hub, manager, name="big", schema=TEXT_SCHEMA, settings={"overlap": 1})
    other = project_flows.create(hub, manager, name="other", schema=TEXT_SCHEMA, settings={"overlap": 1})
    ingest.import_items(hub, manager, other, source=_body(text_items(5)), fmt="jsonl", name="a.jsonl")
    return org, big, other


def test_other_writers_get_the_lock_between_chunks_and_readers_see_nothing_until_the_commit(
    hub: Assay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_store, "CHUNK", 100)
    org, big, other = _setup(hub)
    manager = make_member(hub, org, role="manager").actor(hub)
    annotator = make_member(hub, org).actor(hub)
    seen_during: list[tuple[int, int, bool]] = []

    def between_chunks(written: int) -> None:
        # Runs between two of the import's transactions: a submit on another project gets the
        # write lock now (before, this waited for the whole import, or for the busy timeout).
        lease = annotate.next_item(hub, annotator, other.id)
        if lease is not None:
            annotate.submit(hub, annotator, lease.assignment_id, answers={"sentiment": "neutral"})
        counts = project_flows.counts(hub, manager, project_flows.get(hub, manager, big.id))
        served = annotate.next_item(hub, make_member(hub, org).actor(hub), big.id) is not None
        seen_during.append((written, counts["items"], served))

    result = ingest.import_items(
        hub, manager, big, source=_body(text_items(450)), fmt="jsonl", name="b.jsonl", progress=between_chunks
    )
    assert result.imported == 450
    assert [w for w, _, _ in seen_during] == [100, 200, 300, 400, 450]
    assert all(n == 0 and not served for _, n, served in seen_during), seen_during
    assert project_flows.counts(hub, manager, big)["items"] == 450
    assert annotate.next_item(hub, annotator, big.id) is not None
    with hub.db.read() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(items).where(items.c.import_id.is_not(None))
            ).scalar_one()
            == 0
        )
        assert (
            conn.execute(sa.select(imports.c.state).where(imports.c.project_id == big.id)).scalar_one()
            == "published"
        )
    answered = [lease for lease in [annotate.next_item(hub, annotator, other.id)] if lease]
    assert len(answered) <= 1  # the other project kept working through the import


def test_a_bad_line_at_the_end_leaves_nothing_and_a_retry_imports_everything(
    hub: Assay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_store, "CHUNK", 100)
    org, big, _ = _setup(hub)
    manager = make_member(hub, org, role="manager").actor(hub)
    records: list[dict[str, object]] = [*text_items(350), {"data": {"text": 7}}]
    with pytest.raises(Invalid) as refused:
        ingest.import_items(hub, manager, big, source=_body(records), fmt="jsonl", name="c.jsonl")
    assert "line 351" in refused.value.message and "nothing was imported" in refused.value.message
    with hub.db.read() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(items).where(items.c.project_id == big.id)
            ).scalar_one()
            == 0
        )
        assert (
            conn.execute(sa.select(imports.c.state).where(imports.c.project_id == big.id)).scalar_one()
            == "failed"
        )
    # The external ids the failed import held are free again.
    result = ingest.import_items(hub, manager, big, source=_body(records[:-1]), fmt="jsonl", name="c.jsonl")
    assert result.imported == 350


def test_what_a_dead_import_left_is_undone_or_finished(hub: Assay) -> None:
    """A server killed mid-import leaves marked rows: those of an import that never committed are
    deleted (once its heartbeat is stale), those of one that did are published."""
    org, big, other = _setup(hub)
    manager = make_member(hub, org, role="manager").actor(hub)
    long_ago = now() - import_store.STALE - timedelta(minutes=1)
    with hub.db.write() as conn:
        dead = import_store.start(conn, org_id=manager.org_id, project_id=big.id, by=None, at=long_ago)
        done = import_store.start(conn, org_id=manager.org_id, project_id=other.id, by=None, at=long_ago)
        import_store.commit(conn, import_id=done, at=long_ago)
        for import_id, project in ((dead, big), (done, other)):
            project_store.insert_items(
                conn,
                rows=[
                    {
                        "org_id": manager.org_id,
                        "project_id": project.id,
                        "external_id": f"{import_id}-{i}",
                        "batch": None,
                        "data": {"text": "left behind"},
                        "priority": 0,
                        "meta": None,
                        "gold": None,
                        "is_gold": False,
                        "created_at": long_ago,
                        "import_id": import_id,
                        "open": False,
                        "waiting": False,
                    }
                    for i in range(3)
                ],
            )
    assert project_flows.counts(hub, manager, big)["items"] == 0  # invisible while not committed
    assert project_flows.counts(hub, manager, other)["items"] == 8  # committed: seen at once
    assert ingest.recover(hub) == 2
    assert project_flows.counts(hub, manager, big)["items"] == 0
    assert project_flows.counts(hub, manager, other)["left"] == 8  # published: served too
    with hub.db.read() as conn:
        states = dict(conn.execute(sa.select(imports.c.id, imports.c.state)).all())
        left = conn.execute(
            sa.select(sa.func.count()).select_from(items).where(items.c.project_id == big.id)
        ).scalar_one()
    assert states[dead] == "failed" and states[done] == "published" and left == 0
