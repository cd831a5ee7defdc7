"""Import items: streamed, validated against the project's inputs, all-or-nothing.

One pass over the file inside one write transaction: records are checked as they stream in and
inserted in chunks; the first problem stops the inserting (the pass goes on to report up to
``import_error_limit`` problems) and the transaction is rolled back, so a bad line 5,000 of 100,000
leaves nothing behind.  Memory stays flat: one chunk of rows plus the set of external ids seen.

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
from assay.formats.readers import iter_records
from assay.storage import projects as store
from assay.storage.people import now
from assay.workflows import access
from assay.workflows.projects import Project

log = logging.getLogger("assay.imports")
CHUNK = 5000
ON_DUPLICATE = ("error", "skip")
_UNIT = {"json": "item", "parquet": "row"}


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
    name: str,
    on_duplicate: str = "error",
    batch: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import ``source`` into ``project``; logged as ``import.started``, then ``import.finished``
    with the counts or ``import.refused`` with the reason."""
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
    name: str,
    on_duplicate: str,
    batch: str | None,
    progress: Callable[[int], None] | None,
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
                f"batch={batch!r}: {exc.msg}", errors=[detail("batch", exc.msg, value=exc.value)]
            ) from None
    checker = ItemChecker(project.schema)
    json_fields = frozenset(i.name for i in project.schema.inputs if i.kind in ("chat", "responses"))
    unit = _UNIT.get(fmt, "line")
    limit = hub.config.import_error_limit
    errors: list[ErrorDetail] = []
    result = ImportResult()
    seen: dict[str, int] = {}
    pending: list[dict[str, Any]] = []
    stamp = now()

    def flush(conn: Any) -> None:
        ext_ids = [r["external_id"] for r in pending if r["external_id"] is not None]
        if ext_ids and check_existing:
            taken = store.existing_external_ids(conn, project_id=project.id, external_ids=ext_ids)
            if taken:
                if on_duplicate == "error":
                    for row in pending:
                        if row["external_id"] in taken and len(errors) < limit:
                            errors.append(
                                detail(
                                    f"{unit} {row['_pos']}: external_id",
                                    f"external_id {row['external_id']!r} is already in the project "
                                    "(import with on_duplicate=skip to skip such items)",
                                    line=row["_pos"],
                                    field="external_id",
                                    value=row["external_id"],
                                )
                            )
                    pending.clear()
                    return
                result.skipped_duplicates += sum(1 for r in pending if r["external_id"] in taken)
                result.duplicates.extend(sorted(taken)[: 100 - len(result.duplicates)])
                pending[:] = [r for r in pending if r["external_id"] not in taken]
        for row in pending:
            del row["_pos"]
        result.imported += store.insert_items(conn, rows=pending)
        pending.clear()
        if progress is not None:
            progress(result.imported)

    with hub.db.write() as conn:
        # A project with no external ids yet cannot collide with this file; repeats within the
        # file are caught by ``seen``.  (Concurrent writers are excluded by the write lock on
        # SQLite and by the unique constraint on PostgreSQL.)
        check_existing = store.has_external_ids(conn, project_id=project.id)
        for pos, record in iter_records(source, fmt=fmt, name=name, json_fields=json_fields):
            try:
                item = checker.check(record)
            except RecordError as exc:
                errors.append(detail(f"{unit} {pos}: {exc.field}", exc.msg, line=pos, field=exc.field))
                if len(errors) >= limit:
                    break
                continue
            item_batch = item.batch if item.batch is not None else batch
            if batch is not None and item_batch != batch:
                errors.append(
                    detail(
                        f"{unit} {pos}: batch",
                        f"batch {item.batch!r} differs from the upload's batch {batch!r}; "
                        "leave it out or import the item separately",
                        line=pos,
                        field="batch",
                        value=item.batch,
                    )
                )
                if len(errors) >= limit:
                    break
                continue
            ext = item.external_id
            if ext is not None:
                first = seen.get(ext)
                if first is not None:
                    if on_duplicate == "skip":
                        result.skipped_duplicates += 1
                        if len(result.duplicates) < 100:
                            result.duplicates.append(ext)
                        continue
                    errors.append(
                        detail(
                            f"{unit} {pos}: external_id",
                            f"external_id {ext!r} repeats {unit} {first}",
                            line=pos,
                            field="external_id",
                            value=ext,
                        )
                    )
                    if len(errors) >= limit:
                        break
                    continue
                seen[ext] = pos
            if errors:
                continue  # keep validating to report more problems, but insert nothing more
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
            if len(pending) >= CHUNK:
                flush(conn)
        if pending and not errors:
            flush(conn)
        if errors:
            first_error = errors[0]
            more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
            raise Invalid(
                f"{name}: {first_error['loc']}: {first_error['msg']}{more}; nothing was imported",
                errors=errors,
            )
        if result.imported == 0 and result.skipped_duplicates == 0:
            raise Invalid(f"{name}: the file holds no items; nothing was imported")
    return result
