"""Import answers given outside assay (a vendor's delivery), all-or-nothing and idempotent.

Each row names an item of the project (``item_id`` or ``external_id``), the annotator by the name
the vendor gives them, and the answers; the annotator becomes an *external* member of the workforce
(created on first sight, never able to sign in).  The answers are checked exactly as a submit checks
them (``validate_answers`` against the item, ``check_duration``), and stored as a submitted answer
is (``storage.deliveries``), so overlap, exports, quality and the vendor comparison count them as
answers given in assay.

Two passes.  The first reads the file (the item import's readers and bounds), checks every row and
looks up its item, annotator and any answer already stored, outside any write transaction, a chunk
at a time; the checked rows wait in a temporary file, so memory stays flat.  Any problem, and
nothing is written: every problem is counted, the first ``import_error_limit`` reported with line
and field.  The second pass writes the rows a chunk per short transaction (a large delivery never
holds the database, SQLite's single writer, for long), each queueing the quality refresh a submit
queues; a chunk that fails (a concurrent import of the same rows) has what the earlier chunks wrote
deleted again.  A process that dies while writing leaves what it wrote: importing the file again
skips that and completes the rest.

Idempotent: a row whose answer is already stored (the same annotator's answer to the same item,
and the same ``key`` when it has one) is skipped and counted as such, so importing a delivery again
writes nothing.  A row that would change a stored answer is refused: answers are never overwritten
(a reviewer's fix corrects one).
"""

from __future__ import annotations

import itertools
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

import orjson

from assay import logs
from assay.app import Assay
from assay.domain.answer_rows import MAX_WORKFORCE, AnswerRow, check_row, tabular
from assay.domain.items import RecordError
from assay.domain.people import Actor, Role
from assay.domain.schema import validate_answers
from assay.errors import Conflict, Invalid, NotFound, detail
from assay.formats.readers import read_records
from assay.limits import check_name
from assay.storage import deliveries as store
from assay.storage import leases
from assay.storage import people as people_store
from assay.storage.people import now
from assay.workflows import access, jobs
from assay.workflows.annotate import hash_request
from assay.workflows.ingest import Problems, unit_of
from assay.workflows.projects import Project

log = logging.getLogger("assay.imports")
CHUNK = 2000  # rows checked per round of lookups


@dataclass
class AnswersImported:
    imported: int = 0
    skipped: int = 0
    annotators_created: int = 0
    annotators: set[tuple[int, str]] = field(default_factory=set)

    def public(self) -> dict[str, Any]:
        return {
            "ok": True,
            "imported": self.imported,
            "skipped": self.skipped,
            "annotators": len(self.annotators),
            "annotators_created": self.annotators_created,
        }


def stored_key(project_id: int, key: str | None) -> str | None:
    """A row key as the annotation's idempotency key: per project, apart from any submit's key."""
    return None if key is None else f"import/{project_id}/{key}"


def import_file(hub: Assay, actor: Actor, project: Project, *, path: str, **options: Any) -> AnswersImported:
    """``import_answers`` over the file at ``path``: what a worker process is given
    (``web.offload``), where an open file cannot be passed."""
    with open(path, "rb") as source:
        return import_answers(hub, actor, project, source=source, **options)


def import_answers(
    hub: Assay,
    actor: Actor,
    project: Project,
    *,
    source: BinaryIO,
    fmt: str,
    name: str | None,
    workforce: str | None,
    progress: Callable[[int], None] | None = None,
) -> AnswersImported:
    """Import every row of ``source`` as answers to ``project``'s items, or none.  ``workforce``
    names the workforce of rows that name none; ``name`` is the file's name in messages (None for a
    request body).  Logged as ``answers_import.started``, then ``.finished`` or ``.refused``."""
    access.require(
        hub, actor, Role.MANAGER, action="annotations.import", object_type="project", object_id=project.id
    )
    return logs.logged(
        log,
        "answers_import",
        lambda: _Import(hub, actor, project, fmt=fmt, name=name, workforce=workforce).run(source, progress),
        counts=lambda r: {"imported": r.imported, "skipped": r.skipped, "created": r.annotators_created},
        org=actor.org_id,
        project=project.id,
        file=name,
        format=fmt,
        workforce=workforce,
    )


class _Import:
    """One import's state: the workforces and members seen, the rows' identities, the problems."""

    def __init__(
        self, hub: Assay, actor: Actor, project: Project, *, fmt: str, name: str | None, workforce: str | None
    ) -> None:
        self.hub, self.actor, self.project = hub, actor, project
        self.fmt, self.name, self.unit = fmt, name, unit_of(fmt)
        self.problems = Problems(limit=max(1, hub.config.import_error_limit))
        self.result = AnswersImported()
        self.at = now()
        self.workforces: dict[str, int | None] = {}
        self.default = None if workforce is None else self._default_workforce(workforce)
        # (workforce id, annotator, item id) → line, and key → line: repeats within the file.
        self.seen: dict[tuple[int, str, int], int] = {}
        self.keys: dict[str, int] = {}

    def _default_workforce(self, workforce: str) -> int:
        try:
            wanted = check_name(workforce, where="workforce", max_len=MAX_WORKFORCE)
        except Invalid as exc:
            raise Invalid(f"workforce: {exc.errors[0]['msg']}", errors=exc.errors) from None
        workforce_id = self._workforce_id(wanted)
        if workforce_id is None:
            # Another organisation's workforce is as absent as one that does not exist.
            raise access.not_found(
                self.hub,
                self.actor,
                NotFound(f"workforce {wanted!r} does not exist"),
                action="annotations.import",
                object_type="workforce",
                object_id=None,
            )
        return workforce_id

    def _workforce_id(self, name: str) -> int | None:
        if name not in self.workforces:
            with self.hub.db.read() as conn:
                row = people_store.workforce_by_name(conn, org_id=self.actor.org_id, name=name)
            self.workforces[name] = None if row is None else int(row.id)
        return self.workforces[name]

    def problem(self, pos: int, where: str, msg: str, value: Any = None) -> None:
        extra = {} if value is None else {"value": value}
        self.problems.add(detail(f"{self.unit} {pos}: {where}", msg, line=pos, field=where, **extra))

    # --- pass 1 ---------------------------------------------------------------------------------

    def run(self, source: BinaryIO, progress: Callable[[int], None] | None) -> AnswersImported:
        tabular_rows = self.fmt in ("csv", "parquet")
        with tempfile.TemporaryFile() as checked:
            pending: list[tuple[int, AnswerRow]] = []
            records = read_records(source, fmt=self.fmt, name=self.name, json_fields=frozenset({"answers"}))
            try:
                for pos, record in records:
                    if isinstance(record, Invalid):
                        for found in record.errors:
                            self.problems.add({**found, "line": pos} if pos else found)
                        continue
                    try:
                        row = check_row(tabular(record) if tabular_rows else record, at=self.at)
                    except RecordError as exc:
                        self.problem(pos, exc.field, exc.msg, exc.value)
                        continue
                    pending.append((pos, row))
                    if len(pending) >= CHUNK:
                        self._check(pending, checked)
                        pending.clear()
            except Invalid as exc:  # the reader cannot go on: report it after what came before
                for found in exc.errors or [detail("", exc.message)]:
                    self.problems.add(found)
            if pending:
                self._check(pending, checked)
            self.problems.raise_if_any(self.name)
            if self.result.imported == 0 and self.result.skipped == 0:
                what = f"{self.name}: the file" if self.name else "the upload"
                raise Invalid(f"{what} holds no answers; nothing was imported")
            checked.seek(0)
            self._write(checked, progress)
        return self.result

    def _check(self, rows: list[tuple[int, AnswerRow]], out: Any) -> None:
        """Look up the chunk's items, members and stored answers; queue the rows that are new."""
        hub, org_id, project_id = self.hub, self.actor.org_id, self.project.id
        placed: list[tuple[int, AnswerRow, int]] = []
        for pos, row in rows:
            if row.workforce is None:
                if self.default is None:
                    self.problem(
                        pos, "workforce", "is required: give a workforce column or the import's workforce"
                    )
                    continue
                placed.append((pos, row, self.default))
                continue
            workforce_id = self._workforce_id(row.workforce)
            if workforce_id is None:
                self.problem(pos, "workforce", f"no workforce named {row.workforce!r} in this organisation")
                continue
            placed.append((pos, row, workforce_id))
        with hub.db.read() as conn:
            by_id, by_ext = store.project_items(
                conn,
                org_id=org_id,
                project_id=project_id,
                item_ids=[r.item_id for _, r, _ in placed if r.item_id is not None],
                external_ids=[r.external_id for _, r, _ in placed if r.item_id is None and r.external_id],
            )
            members: dict[tuple[int, str], int] = {}
            for workforce_id in {w for _, _, w in placed}:
                names = sorted({r.annotator for _, r, w in placed if w == workforce_id})
                found = store.external_members(conn, org_id=org_id, workforce_id=workforce_id, names=names)
                members.update({(workforce_id, n): user for n, (user, _) in found.items()})
        ready: list[tuple[int, AnswerRow, int, int, dict[str, Any], str]] = []
        for pos, row, workforce_id in placed:
            item = by_id.get(row.item_id) if row.item_id is not None else by_ext.get(row.external_id or "")
            if item is None:
                where, value = (
                    ("item_id", row.item_id) if row.item_id is not None else ("external_id", row.external_id)
                )
                # The same words for another project's or organisation's item as for none at all.
                self.problem(pos, where, f"{value!r} is not an item of this project", value)
                continue
            if (
                row.item_id is not None
                and row.external_id is not None
                and item.external_id != row.external_id
            ):
                self.problem(
                    pos,
                    "external_id",
                    f"{row.external_id!r} is not the external id of item {row.item_id}",
                    row.external_id,
                )
                continue
            try:
                clean = validate_answers(self.project.schema, data=item.data, answers=row.answers)
            except Invalid as exc:
                for found in exc.errors:
                    self.problem(pos, str(found["loc"]), str(found["msg"]))
                continue
            identity = (workforce_id, row.annotator, int(item.id))
            first = self.seen.get(identity)
            if first is not None:
                self.problem(
                    pos, "annotator", f"{row.annotator!r} answers this item already on {self.unit} {first}"
                )
                continue
            self.seen[identity] = pos
            if row.key is not None:
                first = self.keys.get(row.key)
                if first is not None:
                    self.problem(pos, "key", f"{row.key!r} repeats {self.unit} {first}", row.key)
                    continue
                self.keys[row.key] = pos
            ready.append((pos, row, workforce_id, int(item.id), clean, hash_request(clean, row.duration_ms)))
        users = {
            (w, r.annotator): members[(w, r.annotator)]
            for _, r, w, *_ in ready
            if (w, r.annotator) in members
        }
        with hub.db.read() as conn:
            by_pair, by_key = store.existing_answers(
                conn,
                org_id=org_id,
                pairs=[
                    (item_id, users[(w, r.annotator)])
                    for _, r, w, item_id, *_ in ready
                    if (w, r.annotator) in users
                ],
                keys=[
                    (users[(w, r.annotator)], str(stored_key(project_id, r.key)))
                    for _, r, w, *_ in ready
                    if r.key is not None and (w, r.annotator) in users
                ],
            )
        for pos, row, workforce_id, item_id, clean, request_hash in ready:
            key = stored_key(project_id, row.key)
            user_id = users.get((workforce_id, row.annotator))
            if user_id is not None:
                stored = by_pair.get((item_id, user_id))
                same_key = by_key.get((user_id, key)) if key is not None else None
                if stored is not None:
                    if stored.request_hash == request_hash and stored.key == key:
                        self.result.skipped += 1  # imported before: nothing to do
                        continue
                    self.problem(
                        pos,
                        "answers",
                        f"{row.annotator!r} already answered this item with other answers or another key; "
                        "answers are never overwritten (a reviewer's fix corrects one)",
                    )
                    continue
                if same_key is not None:
                    self.problem(pos, "key", f"{row.key!r} was imported before for another item", row.key)
                    continue
            if self.problems.count:
                continue  # nothing will be written: keep checking, stop queueing
            self.result.imported += 1
            line = {
                "w": workforce_id,
                "a": row.annotator,
                "i": item_id,
                "x": clean,
                "d": row.duration_ms,
                "k": key,
                "h": request_hash,
                "t": None if row.created_at is None else row.created_at.isoformat(),
            }
            out.write(orjson.dumps(line) + b"\n")

    # --- pass 2 ---------------------------------------------------------------------------------

    def _write(self, checked: Any, progress: Callable[[int], None] | None) -> None:
        """Write the checked rows, a chunk per short transaction (a large delivery never holds the
        database, SQLite's single writer, for long).  Should a chunk fail (a concurrent import of
        the same rows), what the earlier chunks wrote is deleted again: nothing is left."""
        org_id, project_id, settings = self.actor.org_id, self.project.id, self.project.settings
        members: dict[tuple[int, str], tuple[int, int]] = {}
        written: list[int] = []
        try:
            while True:
                lines = list(itertools.islice(checked, CHUNK))
                if not lines:
                    break
                with self.hub.db.write() as conn:
                    chunk = []
                    for raw in lines:
                        row = orjson.loads(raw)
                        who = (int(row["w"]), str(row["a"]))
                        if who not in members:
                            members[who] = self._member(conn, who)
                        user_id, membership_id = members[who]
                        chunk.append(
                            {
                                "org_id": org_id,
                                "project_id": project_id,
                                "item_id": int(row["i"]),
                                "user_id": user_id,
                                "membership_id": membership_id,
                                "workforce_id": who[0],
                                "answers": row["x"],
                                "duration_ms": row["d"],
                                "idempotency_key": row["k"],
                                "request_hash": row["h"],
                                "created_at": self.at
                                if row["t"] is None
                                else datetime.fromisoformat(row["t"]),
                            }
                        )
                    written += store.insert_delivered(
                        conn, rows=chunk, overlap=settings.overlap, gold_cap=settings.gold_cap
                    )
                    # Every chunk promises a refresh: one that ran half way through must run again.
                    jobs.queue_quality_refresh(self.hub, conn, org_id=org_id, project_id=project_id)
                if progress is not None:
                    progress(len(written))
        except BaseException as exc:
            self._withdraw(written)
            if isinstance(exc, leases.DuplicateAnswer):
                raise Conflict(
                    "another import stored some of these answers meanwhile; nothing was imported: "
                    "import the file again (what is stored already is skipped)"
                ) from None
            raise
        self.result.annotators = set(members)

    def _withdraw(self, written: list[int]) -> None:
        """Delete what this import wrote, a chunk per short transaction."""
        settings = self.project.settings
        for start in range(0, len(written), CHUNK):
            with self.hub.db.write() as conn:
                store.withdraw_delivered(
                    conn,
                    org_id=self.actor.org_id,
                    assignment_ids=written[start : start + CHUNK],
                    overlap=settings.overlap,
                    gold_cap=settings.gold_cap,
                )
                jobs.queue_quality_refresh(
                    self.hub, conn, org_id=self.actor.org_id, project_id=self.project.id
                )
        self.result.imported = 0

    def _member(self, conn: Any, who: tuple[int, str]) -> tuple[int, int]:
        """(user id, membership id) of the workforce's external member of that name, made if new."""
        workforce_id, name = who
        found = store.external_members(
            conn, org_id=self.actor.org_id, workforce_id=workforce_id, names=[name]
        )
        if name in found:
            return found[name]
        self.result.annotators_created += 1
        return store.add_external_member(conn, org_id=self.actor.org_id, workforce_id=workforce_id, name=name)
