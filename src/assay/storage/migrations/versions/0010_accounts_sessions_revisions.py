"""credentials per membership, server-side sessions, invitations, annotators' own revisions, gold caps

- ``memberships.password_hash``: a person who works for two organisations had one password for
  both, so an invitation or a reset in one organisation set the password that opened the other.
  Each membership now has its own credential (copied from the user's, so every login keeps
  working), and ``users.password_hash`` is dropped.
- ``web_sessions``: sessions are stored server-side, so signing out ends them for every copy of the
  cookie.  Existing cookies (stateless) stop working: everyone signs in again once.
- ``invitations``: one-time links through which a person sets their own password.
- ``annotation_revisions``: an annotator's own undo was stored as a reviewer's ``fix``; the rows that
  were move here (a review by the annotation's own author is a revision), so provenance tells a
  self-revision from a reviewer's fix, and gold is scored on the author's own answer.
- Idempotency keys are unique per (organisation, user, key), not per (user, key).
- Gold items count their leases against a cap like every other item: ``claimed`` becomes the item's
  live leases plus answers, and a gold item that reached the cap is closed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
NEW_TENANT_TABLES = ("web_sessions", "invitations", "annotation_revisions")
POLICY = "assay_org_isolation"
_ORG = "NULLIF(current_setting('assay.org_id', true), '')"
RULE = f"({_ORG} IS NULL OR org_id = {_ORG}::bigint)"
UNLIMITED = 1_000_000


def _time() -> Any:
    from assay.storage.tables import Time

    return Time


def upgrade() -> None:
    bind = op.get_bind()
    Time = _time()
    op.add_column("memberships", sa.Column("password_hash", sa.String(200), nullable=True))
    op.execute(
        "UPDATE memberships SET password_hash = "
        "(SELECT users.password_hash FROM users WHERE users.id = memberships.user_id)"
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_hash")

    op.create_table(
        "web_sessions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("membership_id", Id, sa.ForeignKey("memberships.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("credential", sa.String(64), nullable=False),
        sa.Column("proven", Json, nullable=False),
        sa.Column("ip", sa.String(64)),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("expires_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_web_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_web_sessions_token_hash"),
    )
    op.create_index("ix_web_sessions_membership", "web_sessions", ["membership_id"])

    op.create_table(
        "invitations",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("membership_id", Id, sa.ForeignKey("memberships.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_by", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("expires_at", Time, nullable=False),
        sa.Column("used_at", Time),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
        sa.UniqueConstraint("token_hash", name="uq_invitations_token_hash"),
        sa.CheckConstraint("kind IN ('invite', 'reset')", name="ck_invitations_kind"),
    )
    op.create_index("ix_invitations_membership", "invitations", ["membership_id"])

    op.create_table(
        "annotation_revisions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("annotation_id", Id, sa.ForeignKey("annotations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("answers", Json, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_annotation_revisions"),
    )
    op.create_index("ix_annotation_revisions_annotation", "annotation_revisions", ["annotation_id"])
    # A "review" by the annotation's own author was the annotator's undo: it is a revision.
    own = "SELECT annotations.user_id FROM annotations WHERE annotations.id = reviews.annotation_id"
    op.execute(
        "INSERT INTO annotation_revisions (org_id, annotation_id, answers, created_at) "
        f"SELECT org_id, annotation_id, answers, created_at FROM reviews "
        f"WHERE verdict = 'fix' AND reviewer_id = ({own}) ORDER BY id"
    )
    op.execute(f"DELETE FROM reviews WHERE reviewer_id = ({own})")

    # Idempotency keys per organisation.  SQLite cannot drop a table's UNIQUE constraint in place:
    # the batch rebuild copies the table (its indexes carry no DESC, so nothing is lost).
    with op.batch_alter_table("annotations") as batch:
        batch.drop_constraint("uq_annotations_user_id_idempotency_key", type_="unique")
        batch.create_unique_constraint(
            "uq_annotations_org_id_user_id_idempotency_key", ["org_id", "user_id", "idempotency_key"]
        )

    # Gold items: ``claimed`` = live leases + answers, closed at the project's gold cap.
    op.execute(
        "UPDATE items SET claimed = (SELECT count(*) FROM assignments WHERE assignments.item_id = items.id "
        "AND assignments.status IN ('leased', 'submitted')) WHERE is_gold"
    )
    projects = sa.table("projects", sa.column("id", Id), sa.column("settings", sa.JSON()))
    items = sa.table(
        "items",
        sa.column("project_id", Id),
        sa.column("is_gold", sa.Boolean()),
        sa.column("claimed", sa.Integer()),
        sa.column("open", sa.Boolean()),
    )
    for row in bind.execute(sa.select(projects.c.id, projects.c.settings)).all():
        settings = row.settings or {}
        if isinstance(settings, str):  # SQLite without the JSON type's processing
            import json

            settings = json.loads(settings)
        cap = settings.get("gold_overlap") or (
            UNLIMITED if settings.get("qualification") else int(settings.get("overlap") or 1)
        )
        bind.execute(
            items.update()
            .where(items.c.project_id == row.id, items.c.is_gold.is_(True))
            .values(open=items.c.claimed < cap)
        )

    if bind.dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING {RULE} WITH CHECK {RULE}")


def downgrade() -> None:
    raise NotImplementedError("0010 moves credentials to memberships; restore a backup to go back")
