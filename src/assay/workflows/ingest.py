"""Import items: streamed, validated against the project's inputs, all-or-nothing.

One pass over the file inside one write transaction: records are checked as they stream in and
inserted in chunks; the first problem stops the inserting and the transaction is rolled back, so a
bad line 5,000 of 100,000 leaves nothing behind.  The pass goes on to the end of the file: every
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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from assay import logs
from assay.app import Assay
from assay.domain.items import check_batch
from assay.domain.people import Actor, Role
from assay.domain.schema import ItemChecker, RecordError
from assay.errors import AssayError, ErrorDetail, Invalid, detail
from assay.formats.readers import read_records
from assay.storage import projects as store
from assay.storage.people import now
from assay.workflows import access
from assay.workflows.projects import Project

log = logging.getLogger("assay.imports")
CHUNK = 5000
ON_DUPLICATE = ("error", "skip")
_UNIT = {"json": "item", "parquet": "row"}


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
    fields: dict[str, Any] = {
        "org": actor.org_id,
        "project": project.id,
        "file": name,
        "format": fmt,
        "batch": batch,
    }
    started = time.perf_counter()
    logs.event(log, "import.started", **fields)
    try:
        result = _import_items(
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
        )
    except AssayError as exc:
        reason = exc.message[:300]
        logs.event(
            log,
            "import.refused",
            **fields,
            status=exc.status,
            reason=reason,
            seconds=logs.seconds_since(started),
        )
        raise
    logs.event(
        log,
        "import.finished",
        **fields,
        imported=result.imported,
        gold=result.gold,
        skipped=result.skipped_duplicates,
        seconds=logs.seconds_since(started),
    )
    return result


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
    unit = _UNIT.get(fmt, "line")
    problems = Problems(limit=max(1, hub.config.import_error_limit))
    result = ImportResult()
    seen: dict[str, int] = {}
    pending: list[dict[str, Any]] = []
    stamp = now()

    def flush(conn: Any) -> None:
        """Check the pending rows' external ids against the project, then insert them if all is well."""
        ext_ids = [r["external_id"] for r in pending if r["external_id"] is not None]
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
        if not problems.count:
            for row in pending:
                del row["_pos"]
            result.imported += store.insert_items(conn, rows=pending)
            if progress is not None:
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
            }
        )
        if item.gold is not None:
            result.gold += 1

    with hub.db.write() as conn:
        # A project with no external ids yet cannot collide with this file; repeats within the
        # file are caught by ``seen``.  (Concurrent writers are excluded by the write lock on
        # SQLite and by the unique constraint on PostgreSQL.)
        check_existing = store.has_external_ids(conn, project_id=project.id)
        records = read_records(source, fmt=fmt, name=name, json_fields=json_fields, columns=columns)
        try:
            for pos, record in records:
                if isinstance(record, Invalid):
                    for problem in record.errors:
                        problems.add({**problem, "line": pos} if pos else problem)
                    continue
                take(record, pos)
                if len(pending) >= CHUNK:
                    flush(conn)
        except Invalid as exc:  # the reader cannot go on: report it after what came before
            for problem in exc.errors or [detail("", exc.message)]:
                problems.add(problem)
        if pending:
            flush(conn)
        problems.raise_if_any(name)
        if result.imported == 0 and result.skipped_duplicates == 0:
            what = f"{name}: the file" if name else "the upload"
            raise Invalid(f"{what} holds no items; nothing was imported")
    return result
