"""live chat: conversation turns, their server-generated candidates, and each assignment's judgements;
and ``ix_items_waiting`` (partial): the generation job finds the items still waiting for their
responses in id order instead of walking and sorting the whole project for every page

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
POLICY = "assay_org_isolation"
_ORG = "NULLIF(current_setting('assay.org_id', true), '')"
RULE = f"({_ORG} IS NULL OR org_id = {_ORG}::bigint)"
TABLES = ("chat_turns", "chat_candidates", "chat_judgements")


def _org() -> sa.Column[int]:
    return sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    from assay.storage.tables import Time

    waiting = sa.column("waiting", sa.Boolean).is_(True)
    op.create_index(
        "ix_items_waiting", "items", ["project_id", "id"], sqlite_where=waiting, postgresql_where=waiting
    )

    op.create_table(
        "chat_turns",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        _org(),
        sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item_id", Id, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("assignment_id", Id, sa.ForeignKey("assignments.id", ondelete="CASCADE")),
        sa.Column("parent_id", Id, sa.ForeignKey("chat_turns.id", ondelete="CASCADE")),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("author", sa.String(10), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_turns"),
        sa.CheckConstraint("author IN ('human', 'item')", name="ck_chat_turns_author"),
        sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name="ck_chat_turns_state"),
    )
    op.create_index("ix_chat_turns_assignment", "chat_turns", ["assignment_id"])
    op.create_index(
        "uq_chat_turns_shared",
        "chat_turns",
        ["item_id"],
        unique=True,
        sqlite_where=sa.text("assignment_id IS NULL"),
        postgresql_where=sa.text("assignment_id IS NULL"),
    )
    op.create_table(
        "chat_candidates",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        _org(),
        sa.Column("turn_id", Id, sa.ForeignKey("chat_turns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("meta", Json),
        sa.Column("cost", sa.Float),
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_candidates"),
        sa.UniqueConstraint("turn_id", "position", name="uq_chat_candidates_turn_id_position"),
        sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name="ck_chat_candidates_state"),
    )
    op.create_table(
        "chat_judgements",
        _org(),
        sa.Column("assignment_id", Id, sa.ForeignKey("assignments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("turn_id", Id, sa.ForeignKey("chat_turns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("judgement", Json, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("assignment_id", "turn_id", name="pk_chat_judgements"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING {RULE} WITH CHECK {RULE}")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
    op.drop_index("ix_items_waiting", table_name="items")
