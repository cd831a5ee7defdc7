"""Long id lists are split into IN (...) lists every backend takes, and nothing is lost at the seams."""

from __future__ import annotations

from assay.storage import migrate, projects, reviews
from assay.storage.engine import IN_LIST_MAX, Database, in_chunks


def test_in_chunks_covers_every_value_once_in_bounded_slices() -> None:
    values = list(range(2 * IN_LIST_MAX + 1))
    slices = list(in_chunks(values))
    assert [len(s) for s in slices] == [IN_LIST_MAX, IN_LIST_MAX, 1]
    assert [v for s in slices for v in s] == values
    assert list(in_chunks([])) == []


def test_lookups_take_more_ids_than_one_list_holds(db_url: str) -> None:
    db = Database(db_url)
    try:
        migrate.upgrade(db)
        many = list(range(1, 40_001))  # past SQLite's 32,766 parameters per statement
        with db.read() as conn:
            assert reviews.reviewed_ids(conn, annotation_ids=many) == set()
            assert projects.item_batches(conn, org_id=1, item_ids=many) == {}
            assert (
                projects.existing_external_ids(conn, project_id=1, external_ids=[str(i) for i in many])
                == set()
            )
    finally:
        db.dispose()
