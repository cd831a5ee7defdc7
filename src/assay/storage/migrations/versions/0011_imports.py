"""imports written in short transactions, invisible until they commit

``imports`` records each import of items; ``items.import_id`` marks the items an import has not
published yet.  An import used to hold the database's write lock for its whole file (SQLite has one
writer: a 1M-item import stalled every annotator of every organisation for 14 s).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
POLICY = "assay_org_isolation"
_ORG = "NULLIF(current_setting('assay.org_id', true), '')"
RULE = f"({_ORG} IS NULL OR org_id = {_ORG}::bigint)"


def upgrade() -> None:
    from assay.storage.tables import Time

    op.create_table(
        "imports",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("written", sa.Integer, nullable=False, server_default="0"),  # items written so far
        sa.Column("created_by", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("heartbeat", Time, nullable=False),
        sa.Column("finished_at", Time),
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
        sa.CheckConstraint(
            "state IN ('running', 'committed', 'published', 'failed')", name="ck_imports_state"
        ),
    )
    op.create_index("ix_imports_project", "imports", ["project_id", "state"])
    # A plain ADD COLUMN: a batch rebuild of items on SQLite would drop ix_items_next's DESC.
    op.add_column("items", sa.Column("import_id", Id, nullable=True))
    op.create_index(
        "ix_items_import",
        "items",
        ["import_id", "id"],
        sqlite_where=sa.text("import_id IS NOT NULL"),
        postgresql_where=sa.text("import_id IS NOT NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE imports ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE imports FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON imports USING {RULE} WITH CHECK {RULE}")


def downgrade() -> None:
    op.drop_index("ix_items_import", table_name="items")
    op.drop_column("items", "import_id")
    op.drop_index("ix_imports_project", table_name="imports")
    op.drop_table("imports")
