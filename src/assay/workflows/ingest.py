"""Import items: streamed, validated against the project's inputs, all-or-nothing.

One pass over the file, validating outside any transaction; each chunk of valid rows is written in
a short transaction of its own (``storage.imports``), marked with the import's id, so that a large
file never holds the database for long (SQLite has a single writer: a 1M-item import used to stall
every annotator of every organisation for its whole 14 s).  The marked rows are seen by no reader
until one statement commits the import; then they are published for `next` in chunks.  The first
problem stops the writing and what was written is deleted (in chunks too), so a bad line 5,000 of
100,000 leaves nothing behind, and nobody ever saw the first 4,999.  The pass goes on to the end of
the file: every
problem is counted, the first ``import_error_limit`` are reported (a JSONL line that is not JSON
does not hide the lines after it; a JSON array cannot be read past a syntax error, so that is the
last problem it reports).  Memory stays flat: one chunk of rows plus the set of external ids seen.

Messages name the file (``items.csv: line 3: data.text: is required``), or for a request body
start at the position; a hint names what the user can type at their front door (``skip_hint``:
``on_duplicate=skip`` for the API and the library, the CLI passes its flag).

Item batches: a record may name its ``batch``, or the whole upload may be put in one (``batch=``).
When both are given they must agree: sharing follows the batch, so a record that names another
batch than the upload's is refused rather than silently shown to other workforces.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from assay import logs
from assay.app import Assay
from assay.domain.items import check_batch
from assay.domain.people import Actor, Role
from assay.domain.schema import ItemChecker, RecordError
from assay.errors import ErrorDetail, Invalid, detail
from assay.formats.readers import read_records
from assay.storage import imports as import_store
from assay.storage import projects as store
from assay.storage.engine import org_scope
from assay.storage.people import now
from assay.workflows import access
from assay.workflows.projects import Project

log = logging.getLogger("assay.imports")
ON_DUPLICATE = ("error", "skip")
_UNIT = {"json": "item", "parquet": "row"}


def unit_of(fmt: str) -> str:
    """How messages name a record's position in a file of ``fmt``: item N, row N or line N."""
    return _UNIT.get(fmt, "line")


@dataclass
class Problems:
    """The problems of one import: every one counted, the first ``limit`` kept."""

    limit: int
    kept: list[ErrorDetail] = field(default_factory=list)
    count: int = 0

    def add(self, problem: ErrorDetail) -> None:
        self.count += 1
        if len(self.kept) < self.limit:
            self.kept.append(problem)

    def raise_if_any(self, name: str | None) -> None:
        if not self.count:
            return
        first = self.kept[0]
        more = self.count - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        prefix = f"{name}: " if name else ""
        raise Invalid(f"{prefix}{first['loc']}: {first['msg']}{tail}; nothing was imported", errors=self.kept)


@dataclass
class ImportResult:
    imported: int = 0
    gold: int = 0
    skipped_duplicates: int = 0
    duplicates: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "ok": True,
            "imported": self.imported,
            "gold": self.gold,
            "skipped_duplicates": self.skipped_duplicates,
            "duplicates": self.duplicates[:100],
        }


def import_file(hub: Assay, actor: Actor, project: Project, *, path: str, **options: Any) -> ImportResult:
    """``import_items`` over the file at ``path``: what a worker process is given (``web.offload``),
    where an open file cannot be passed."""
    with open(path, "rb") as source:
        return import_items(hub, actor, project, source=source, **options)


def import_items(
    hub: Assay,
    actor: Actor,
    project: Project,
    *,
    source: BinaryIO,
    fmt: str,
    name: str | None,
    on_duplicate: str = "error",
    batch: str | None = None,
    progress: Callable[[int], None] | None = None,
    skip_hint: str = "on_duplicate=skip",
) -> ImportResult:
    """Import every record of ``source`` into ``project``, or none; ``name`` is the file's name in
    messages (None for a request body), ``skip_hint`` how the caller's user asks to skip existing
    external ids.  Logged as ``import.started``, then ``import.finished`` with the counts or
    ``import.refused`` with the reason."""
    return logs.logged(
        log,
        "import",
        lambda: _import_items(
            hub,
            actor,
            project,
            source=source,
            fmt=fmt,
            name=name,
            on_duplicate=on_duplicate,
            batch=batch,
            progress=progress,
            skip_hint=skip_hint,
        ),
        counts=lambda r: {"imported": r.imported, "gold": r.gold, "skipped": r.skipped_duplicates},
        org=actor.org_id,
        project=project.id,
        file=name,
        format=fmt,
        batch=batch,
    )


def _import_items(
    hub: Assay,
    actor: Actor,
    project: Project,
    *,
    source: BinaryIO,
    fmt: str,
    name: str | None,
    on_duplicate: str,
    batch: str | None,
    progress: Callable[[int], None] | None,
    skip_hint: str,
) -> ImportResult:
    access.require(
        hub, actor, Role.MANAGER, action="items.import", object_type="project", object_id=project.id
    )
    if on_duplicate not in ON_DUPLICATE:
        raise Invalid(f"on_duplicate={on_duplicate!r}: choose one of {', '.join(ON_DUPLICATE)}")
    if batch is not None:
        try:
            batch = check_batch(batch)
        except RecordError as exc:
            raise Invalid(
                f"batch={exc.value}: {exc.msg}", errors=[detail("batch", exc.msg, value=exc.value)]
            ) from None
    checker = ItemChecker(project.schema)
    json_fields = frozenset(i.name for i in project.schema.inputs if i.kind in ("chat", "responses"))
    columns = frozenset(i.name for i in project.schema.inputs)
    unit = unit_of(fmt)
    problems = Problems(limit=max(1, hub.config.import_error_limit))
    result = ImportResult()
    seen: dict[str, int] = {}
    pending: list[dict[str, Any]] = []
    stamp = now()

    def flush() -> None:
        """Check the pending rows' external ids against the project, then write them (a short
        transaction of their own, invisible until the import commits) if all is well."""
        ext_ids = [r["external_id"] for r in pending if r["external_id"] is not None]
        with hub.db.write() as conn:
            if ext_ids and check_existing:
                taken = store.existing_external_ids(conn, project_id=project.id, external_ids=ext_ids)
                if taken:
                    if on_duplicate == "error":
                        for row in pending:
                            if row["external_id"] in taken:
                                problems.add(
                                    detail(
                                        f"{unit} {row['_pos']}: external_id",
                                        f"external_id {row['external_id']!r} is already in the project "
                                        f"({skip_hint} skips such items)",
                                        line=row["_pos"],
                                        field="external_id",
                                        value=row["external_id"],
                                    )
                                )
                    else:
                        result.skipped_duplicates += sum(1 for r in pending if r["external_id"] in taken)
                        result.duplicates.extend(sorted(taken)[: 100 - len(result.duplicates)])
                        pending[:] = [r for r in pending if r["external_id"] not in taken]
            if not problems.count and pending:
                for row in pending:
                    del row["_pos"]
                added = store.insert_items(conn, rows=pending)
                import_store.beat(conn, import_id=import_id, at=now(), added=added)
                result.imported += added
        if progress is not None and not problems.count:
            progress(result.imported)
        pending.clear()

    def take(record: dict[str, Any], pos: int) -> None:
        """Check one record and queue its row (or count its problem)."""
        try:
            item = checker.check(record)
        except RecordError as exc:
            problems.add(detail(f"{unit} {pos}: {exc.field}", exc.msg, line=pos, field=exc.field))
            return
        item_batch = item.batch if item.batch is not None else batch
        if batch is not None and item_batch != batch:
            problems.add(
                detail(
                    f"{unit} {pos}: batch",
                    f"batch {item.batch!r} differs from the upload's batch {batch!r}; "
                    "leave it out or import the item separately",
                    line=pos,
                    field="batch",
                    value=item.batch,
                )
            )
            return
        ext = item.external_id
        if ext is not None:
            first = seen.get(ext)
            if first is not None:
                if on_duplicate == "skip":
                    result.skipped_duplicates += 1
                    if len(result.duplicates) < 100:
                        result.duplicates.append(ext)
                    return
                problems.add(
                    detail(
                        f"{unit} {pos}: external_id",
                        f"external_id {ext!r} repeats {unit} {first}",
                        line=pos,
                        field="external_id",
                        value=ext,
                    )
                )
                return
            seen[ext] = pos
        if problems.count:
            if ext is not None:  # nothing more is inserted, but an existing external id is still reported
                pending.append({"_pos": pos, "external_id": ext})
            return
        pending.append(
            {
                "_pos": pos,
                "org_id": actor.org_id,
                "project_id": project.id,
                "external_id": ext,
                "batch": item_batch,
                "data": item.data,
                "priority": item.priority,
                "meta": item.meta,
                "gold": item.gold,
                "is_gold": item.gold is not None,
                "created_at": stamp,
                "import_id": import_id,
                "open": False,  # opened when the import is published
                "waiting": item.waiting,
            }
        )
        if item.gold is not None:
            result.gold += 1

    recover(hub, project_id=project.id)
    with hub.db.write() as conn:
        import_id = import_store.start(
            conn, org_id=actor.org_id, project_id=project.id, by=actor.user_id or None, at=stamp
        )
        # A project with no external ids yet cannot collide with this file; repeats within the
        # file are caught by ``seen``, and a concurrent import by the unique constraint.
        check_existing = store.has_external_ids(conn, project_id=project.id)
    try:
        records = read_records(source, fmt=fmt, name=name, json_fields=json_fields, columns=columns)
        try:
            for pos, record in records:
                if isinstance(record, Invalid):
                    for problem in record.errors:
                        problems.add({**problem, "line": pos} if pos else problem)
                    continue
                take(record, pos)
                if len(pending) >= import_store.CHUNK:
                    flush()
        except Invalid as exc:  # the reader cannot go on: report it after what came before
            for problem in exc.errors or [detail("", exc.message)]:
                problems.add(problem)
        if pending:
            flush()
        problems.raise_if_any(name)
        if result.imported == 0 and result.skipped_duplicates == 0:
            what = f"{name}: the file" if name else "the upload"
            raise Invalid(f"{what} holds no items; nothing was imported")
        with hub.db.write() as conn:
            import_store.commit(conn, import_id=import_id, at=now())  # every item appears at once
    except BaseException:
        _discard(hub, import_id)
        raise
    _publish(hub, import_id, project.settings)
    return result


def _publish(hub: Assay, import_id: int, settings: Any) -> None:
    """Open a committed import's items for `next`, a chunk per short transaction."""
    while True:
        with hub.db.write() as conn:
            if not import_store.publish_chunk(
                conn, import_id=import_id, overlap=settings.overlap, gold_cap=settings.gold_cap
            ):
                import_store.finish(conn, import_id=import_id, state="published", at=now())
                return


def _discard(hub: Assay, import_id: int) -> None:
    """Delete what a failed import wrote, a chunk per short transaction, then mark it failed."""
    while True:
        with hub.db.write() as conn:
            if not import_store.discard_chunk(conn, import_id=import_id):
                import_store.finish(conn, import_id=import_id, state="failed", at=now())
                return


def recover(hub: Assay, *, project_id: int | None = None) -> int:
    """Finish what imports left behind when their process died: undo those that never committed
    (their heartbeat stopped), publish those that did.  Run before each import into a project and
    when ``assay serve`` starts; returns how many it finished."""
    from assay.workflows.projects import from_row

    with hub.db.read() as conn:
        left = import_store.stale(conn, at=now(), project_id=project_id)
    for row in left:
        with org_scope(int(row.org_id)):
            if row.state == "running":
                _discard(hub, int(row.id))
            else:
                with hub.db.read() as conn:
                    settings = from_row(
                        store.get_project(conn, org_id=int(row.org_id), project_id=int(row.project_id))
                    ).settings
                _publish(hub, int(row.id), settings)
    return len(left)
