"""The tables.  Every tenant table carries ``org_id`` so that every query can be scoped in SQL.

Ids are integers: they make bulk imports fast on both backends and are never a secret (every lookup
checks the organisation anyway, and a foreign id answers 404 exactly like a missing one).
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# JSON everywhere, JSONB on PostgreSQL (queryable by users' own tools).
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite needs INTEGER for rowid aliasing


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timestamps are UTC and come back timezone-aware on every backend (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime stored; use datetime.now(UTC)")
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


Time = UtcDateTime()


def _id() -> sa.Column[int]:
    return sa.Column("id", Id, primary_key=True, autoincrement=True)


def _org() -> sa.Column[int]:
    return sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False)


organizations = sa.Table(
    "organizations",
    metadata,
    _id(),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", Time, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    _id(),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", Time, nullable=False),
)

workforces = sa.Table(
    "workforces",
    metadata,
    _id(),
    _org(),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # in_house | vendor
    sa.Column("cost_per_hour", sa.Float),
    sa.Column("cost_per_answer", sa.Float),
    sa.Column("created_at", Time, nullable=False),
    sa.UniqueConstraint("org_id", "name"),
    sa.CheckConstraint("kind IN ('in_house', 'vendor')", name="kind"),
)

memberships = sa.Table(
    "memberships",
    metadata,
    _id(),
    _org(),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("workforce_id", Id, sa.ForeignKey("workforces.id", ondelete="SET NULL")),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    # The credential that opens this membership, and this one only: a person who works for two
    # organisations has one password per organisation (they may choose the same one), so nothing one
    # organisation does (an invitation, a reset) can open, or lock, the other.  NULL: no password yet
    # (an invitation not accepted): the membership cannot sign in.
    sa.Column("password_hash", sa.String(200)),
    sa.Column("created_at", Time, nullable=False),
    # A vendor's annotator known only by the name their delivery gives (an import of answers): such
    # a membership never signs in, holds a token or is invited (``storage.people``, ``sessions``).
    sa.Column("external", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("external_name", sa.String(200)),
    sa.UniqueConstraint("org_id", "user_id"),
    sa.CheckConstraint("role IN ('owner', 'manager', 'reviewer', 'annotator')", name="role"),
)
# One member per external name and workforce: re-importing a delivery finds the same annotator.
sa.Index(
    "ix_memberships_external",
    memberships.c.org_id,
    memberships.c.workforce_id,
    memberships.c.external_name,
    unique=True,
    sqlite_where=memberships.c.external_name.is_not(None),
    postgresql_where=memberships.c.external_name.is_not(None),
)

skills = sa.Table(
    "skills",
    metadata,
    _id(),
    _org(),
    sa.Column("name", sa.String(100), nullable=False),
    sa.UniqueConstraint("org_id", "name"),
)

membership_skills = sa.Table(
    "membership_skills",
    metadata,
    _org(),
    sa.Column("membership_id", Id, sa.ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("skill_id", Id, sa.ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("source", sa.String(40), nullable=False),  # manager | qualification:<project id>
    sa.Column("granted_at", Time, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    _id(),
    _org(),
    sa.Column("membership_id", Id, sa.ForeignKey("memberships.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 of a 256-bit secret
    sa.Column("prefix", sa.String(16), nullable=False),  # shown in listings to tell tokens apart
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("last_used_at", Time),
    sa.Column("revoked_at", Time),
)

# Browser sessions, stored server-side so that signing out (or a password change) ends them at once,
# whatever copies of the cookie exist.  The cookie carries a random token; only its SHA-256 is kept.
# A session is bound to one membership; ``proven`` lists the other memberships of the same person
# whose password the sign-in also matched (with a fingerprint of each credential), so switching
# organisations re-checks the target instead of trusting the session.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    _id(),
    _org(),
    sa.Column("membership_id", Id, sa.ForeignKey("memberships.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("credential", sa.String(64), nullable=False),  # fingerprint of the password at sign-in
    sa.Column("proven", Json, nullable=False),  # [[membership id, credential fingerprint], ...]
    sa.Column("ip", sa.String(64)),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("expires_at", Time, nullable=False),
)
sa.Index("ix_web_sessions_membership", web_sessions.c.membership_id)

# One-time links through which a person sets the password of one membership: an invitation, or a
# reset an owner asked for.  Single use, expiring, stored as a SHA-256 of a 256-bit secret.
invitations = sa.Table(
    "invitations",
    metadata,
    _id(),
    _org(),
    sa.Column("membership_id", Id, sa.ForeignKey("memberships.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),  # invite | reset
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_by", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("expires_at", Time, nullable=False),
    sa.Column("used_at", Time),
    sa.CheckConstraint("kind IN ('invite', 'reset')", name="kind"),
)
sa.Index("ix_invitations_membership", invitations.c.membership_id)

projects = sa.Table(
    "projects",
    metadata,
    _id(),
    _org(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("schema", Json, nullable=False),
    sa.Column("settings", Json, nullable=False),
    sa.Column("created_by", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("created_at", Time, nullable=False),
    sa.UniqueConstraint("org_id", "name"),
)

# One import of items, written in short transactions so that a large file never holds the database
# (SQLite's single write lock) for long: its items stay invisible until ``state`` turns
# ``committed`` in one statement, so readers see all of them or none.  ``heartbeat`` moves with
# every chunk: an import whose process died is found by its stale heartbeat and undone.
imports = sa.Table(
    "imports",
    metadata,
    _id(),
    _org(),
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),  # running | committed | published | failed
    sa.Column("written", sa.Integer, nullable=False, server_default="0"),  # items written so far
    sa.Column("created_by", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("heartbeat", Time, nullable=False),
    sa.Column("finished_at", Time),
    sa.CheckConstraint("state IN ('running', 'committed', 'published', 'failed')", name="state"),
)
sa.Index("ix_imports_project", imports.c.project_id, imports.c.state)

items = sa.Table(
    "items",
    metadata,
    _id(),
    _org(),
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("external_id", sa.String(200)),
    # A named batch of the project's items; ``settings.batches`` may share it with chosen workforces.
    sa.Column("batch", sa.String(100)),
    sa.Column("data", Json, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("meta", Json),
    sa.Column("gold", Json),
    sa.Column("is_gold", sa.Boolean, nullable=False, server_default=sa.false()),
    # The overlap counter: live leases + submitted annotations.  It only moves through a guarded
    # UPDATE (``claimed < overlap``), so the database, not the application, enforces overlap.  Gold
    # items count the same way against the project's gold cap (``gold_overlap``, by default the
    # overlap): a gold item is shown as often as any other, so its exposure cannot give it away.
    sa.Column("claimed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("answered", sa.Integer, nullable=False, server_default="0"),
    sa.Column("open", sa.Boolean, nullable=False, server_default=sa.true()),
    # Adaptive overlap: the item's label is sure enough, so it stays closed even when a lease on it
    # expires or is skipped (``claimed`` still counts what it holds).
    sa.Column("settled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Time, nullable=False),
    # The import that is writing this item, while it has not yet published it (``imports``): such an
    # item is seen by no reader (``storage.projects.live``) until its import commits, and is served
    # once the import has published it (``open`` is false until then).  NULL for every other item.
    # No foreign key: every import row is kept (its history), and the check would cost each insert.
    sa.Column("import_id", Id),
    # The item lacks the responses one of its questions compares (they are to be generated, see
    # ``workflows.generate``): it is offered to nobody until they are there (``counters.OPEN``).
    sa.Column("waiting", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("project_id", "external_id"),
    sa.CheckConstraint("claimed >= 0", name="claimed_nonnegative"),
)
sa.Index(
    "ix_items_next", items.c.project_id, items.c.is_gold, items.c.open, items.c.priority.desc(), items.c.id
)
# The items an import has not published yet (partial: every other item costs nothing).
sa.Index(
    "ix_items_import",
    items.c.import_id,
    items.c.id,
    sqlite_where=items.c.import_id.is_not(None),
    postgresql_where=items.c.import_id.is_not(None),
)
# The items still waiting for their responses, in id order: the generation job reads them a page at a
# time (``storage.models.waiting_page``); without it each page walked and sorted the whole project.
# Partial, so the items that wait for nothing (nearly all, nearly always) cost nothing.
sa.Index(
    "ix_items_waiting",
    items.c.project_id,
    items.c.id,
    sqlite_where=items.c.waiting.is_(True),
    postgresql_where=items.c.waiting.is_(True),
)
# The open items of one batch in `next` order: a workforce given just a batch of a large project reads
# it directly instead of walking every open item ahead of it.  Partial, so unbatched items cost nothing.
sa.Index(
    "ix_items_batch",
    items.c.project_id,
    items.c.batch,
    items.c.is_gold,
    items.c.open,
    items.c.priority.desc(),
    items.c.id,
    sqlite_where=items.c.batch.is_not(None),
    postgresql_where=items.c.batch.is_not(None),
)

assignments = sa.Table(
    "assignments",
    metadata,
    _id(),
    _org(),
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("item_id", Id, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("membership_id", Id, sa.ForeignKey("memberships.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # leased | submitted | skipped | expired
    sa.Column("display_order", Json),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("expires_at", Time, nullable=False),
    sa.Column("finished_at", Time),
    # One row per (item, annotator), ever: the database refuses to give anyone the same item twice.
    sa.UniqueConstraint("item_id", "user_id"),
    sa.CheckConstraint("status IN ('leased', 'submitted', 'skipped', 'expired')", name="status"),
)
sa.Index("ix_assignments_leases", assignments.c.project_id, assignments.c.status, assignments.c.expires_at)
sa.Index("ix_assignments_user", assignments.c.project_id, assignments.c.user_id, assignments.c.status)

annotations = sa.Table(
    "annotations",
    metadata,
    _id(),
    _org(),
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("item_id", Id, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    sa.Column("assignment_id", Id, sa.ForeignKey("assignments.id", ondelete="CASCADE"), nullable=False),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("workforce_id", Id, sa.ForeignKey("workforces.id", ondelete="SET NULL")),
    sa.Column("answers", Json, nullable=False),
    sa.Column("duration_ms", sa.Integer),
    sa.Column("idempotency_key", sa.String(200)),
    sa.Column("request_hash", sa.String(64), nullable=False),
    # What the annotation screen observed (e.g. paste counts per text answer), for spam checks.
    sa.Column("client", Json),
    sa.Column("created_at", Time, nullable=False),
    sa.UniqueConstraint("assignment_id"),  # exactly one annotation per lease
    # Idempotency keys belong to one member of one organisation: a person working for two labs may
    # reuse a key in each.
    sa.UniqueConstraint("org_id", "user_id", "idempotency_key"),
)
sa.Index("ix_annotations_item", annotations.c.project_id, annotations.c.item_id)
# Item pages, reviews and export pages look annotations up by item id alone.
sa.Index("ix_annotations_item_id", annotations.c.item_id)
# The gold gates read one annotator's answers in a project.
sa.Index("ix_annotations_user", annotations.c.project_id, annotations.c.user_id)

reviews = sa.Table(
    "reviews",
    metadata,
    _id(),
    _org(),
    sa.Column("annotation_id", Id, sa.ForeignKey("annotations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("reviewer_id", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("verdict", sa.String(10), nullable=False),  # accept | reject | fix
    sa.Column("answers", Json),
    sa.Column("reason", sa.Text),
    sa.Column("created_at", Time, nullable=False),
    sa.CheckConstraint("verdict IN ('accept', 'reject', 'fix')", name="verdict"),
)
sa.Index("ix_reviews_annotation", reviews.c.annotation_id)

# An annotator's own correction of their answer while its lease holds (the annotation screen's undo).
# Not a review: it is the author's answer, which gold is scored on; a reviewer's ``fix`` is another
# person's, and stays in ``reviews``.  The latest revision is the author's answer of record.
annotation_revisions = sa.Table(
    "annotation_revisions",
    metadata,
    _id(),
    _org(),
    sa.Column("annotation_id", Id, sa.ForeignKey("annotations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("answers", Json, nullable=False),
    sa.Column("created_at", Time, nullable=False),
)
sa.Index("ix_annotation_revisions_annotation", annotation_revisions.c.annotation_id)

# An annotator paused on one project because their gold accuracy is surely below its threshold.
# Lifting a pause keeps the row (``lifted_at``): the history stays, and later gold answers are judged
# from the lift on, so a lifted annotator is not paused again by the answers that paused them.
project_pauses = sa.Table(
    "project_pauses",
    metadata,
    _id(),
    _org(),
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("membership_id", Id, sa.ForeignKey("memberships.id", ondelete="CASCADE"), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("lifted_at", Time),
    sa.Column("lifted_by", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
)
sa.Index("ix_project_pauses_member", project_pauses.c.project_id, project_pauses.c.membership_id)

# The job queue: background work (quality refreshes) on the database itself, so that SQLite needs no
# extra service and several server processes on PostgreSQL share one queue.  A job is claimed by a
# guarded UPDATE (``state = 'queued'``) with a lease (``locked_until``): a worker that dies holding a
# job lets it go back to the queue when the lease runs out.  The partial unique index keeps at most
# one *queued* job per (project, kind), so enqueueing after every answer coalesces into one run.
jobs = sa.Table(
    "jobs",
    metadata,
    _id(),
    _org(),
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE")),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("state", sa.String(10), nullable=False, server_default="queued"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("run_after", Time, nullable=False),
    sa.Column("locked_by", sa.String(120)),
    sa.Column("locked_until", Time),
    sa.Column("error", sa.Text),
    sa.Column("result", Json),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("started_at", Time),
    sa.Column("finished_at", Time),
    # What the job was asked to do (a generation's models and samples), and how far it got: written
    # by the job while it runs, so that ``GET /api/v1/jobs/{id}`` shows progress and per-item errors.
    sa.Column("params", Json),
    sa.Column("done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("errors", Json),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
)
sa.Index("ix_jobs_ready", jobs.c.state, jobs.c.run_after)
sa.Index(
    "ix_jobs_one_queued",
    jobs.c.project_id,
    jobs.c.kind,
    unique=True,
    sqlite_where=jobs.c.state == "queued",
    postgresql_where=jobs.c.state == "queued",
)

# The last quality refresh of a project (its report and the fitted model adaptive overlap reads).
quality_snapshots = sa.Table(
    "quality_snapshots",
    metadata,
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    _org(),
    sa.Column("method", sa.String(20), nullable=False),
    sa.Column("answers", sa.Integer, nullable=False),
    sa.Column("report", Json, nullable=False),
    sa.Column("workers", Json, nullable=False),
    sa.Column("computed_at", Time, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
)

# A model an organisation may call: an OpenAI-compatible chat-completions endpoint (DESIGN §8).  The
# API key is sealed (``assay.sealed``) and never read back out through any API.
model_connections = sa.Table(
    "model_connections",
    metadata,
    _id(),
    _org(),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("base_url", sa.String(500), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("api_key", sa.Text),  # sealed, or NULL for a server without keys
    sa.Column("params", Json, nullable=False),
    sa.Column("price_in", sa.Float),  # per million input tokens
    sa.Column("price_out", sa.Float),  # per million output tokens
    sa.Column("created_by", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("created_at", Time, nullable=False),
    sa.UniqueConstraint("org_id", "name"),
)

# Live chat (DESIGN §8): a turn is a user message and the candidates the server generated for it.
# A turn of an assignment belongs to it; the item's fixed first turn (assignment_id NULL) is shared by
# every assignment of the item, so that several annotators judge the same candidates.
chat_turns = sa.Table(
    "chat_turns",
    metadata,
    _id(),
    _org(),
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("item_id", Id, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    sa.Column("assignment_id", Id, sa.ForeignKey("assignments.id", ondelete="CASCADE")),
    sa.Column("parent_id", Id, sa.ForeignKey("chat_turns.id", ondelete="CASCADE")),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("author", sa.String(10), nullable=False),  # human | item
    sa.Column("state", sa.String(10), nullable=False),  # pending | done | failed
    sa.Column("created_at", Time, nullable=False),
    sa.CheckConstraint("author IN ('human', 'item')", name="author"),
    sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name="state"),
)
sa.Index("ix_chat_turns_assignment", chat_turns.c.assignment_id)
sa.Index(
    "uq_chat_turns_shared",
    chat_turns.c.item_id,
    unique=True,
    sqlite_where=chat_turns.c.assignment_id.is_(None),
    postgresql_where=chat_turns.c.assignment_id.is_(None),
)

chat_candidates = sa.Table(
    "chat_candidates",
    metadata,
    _id(),
    _org(),
    sa.Column("turn_id", Id, sa.ForeignKey("chat_turns.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),  # k: generated by models[k % len(models)]
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("state", sa.String(10), nullable=False),  # pending | done | failed
    sa.Column("error", sa.Text),
    sa.Column("meta", Json),  # provenance: model id, params, latency, tokens, cost, finish reason
    sa.Column("cost", sa.Float),
    sa.Column("created_at", Time, nullable=False),
    sa.UniqueConstraint("turn_id", "position"),
    sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name="state"),
)

# One assignment's judgement of one turn, kept while the conversation goes on (a server-side draft;
# the submitted answer must agree with it for every turn the conversation went on from).
chat_judgements = sa.Table(
    "chat_judgements",
    metadata,
    _org(),
    sa.Column("assignment_id", Id, sa.ForeignKey("assignments.id", ondelete="CASCADE"), nullable=False),
    sa.Column("turn_id", Id, sa.ForeignKey("chat_turns.id", ondelete="CASCADE"), nullable=False),
    sa.Column("judgement", Json, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    sa.PrimaryKeyConstraint("assignment_id", "turn_id"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    _id(),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="SET NULL")),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("token_id", Id, sa.ForeignKey("api_tokens.id", ondelete="SET NULL")),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("object_type", sa.String(40)),
    sa.Column("object_id", sa.String(64)),
    sa.Column("allowed", sa.Boolean, nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("ip", sa.String(64)),
    sa.Column("detail", Json),
    sa.Column("created_at", Time, nullable=False),
)
sa.Index("ix_audit_events_org", audit_events.c.org_id, audit_events.c.created_at)
