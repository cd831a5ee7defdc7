"""item batches: items.batch, so that a batch of a project's items can be shared with chosen workforces

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch rebuild: rebuilding items on SQLite would recreate its indexes
    # from reflection, which drops the DESC of ix_items_next and turns every `next` into a sort.
    op.add_column("items", sa.Column("batch", sa.String(100), nullable=True))
    # `next` for a workforce given only one batch: that batch's open items in ix_items_next's order.
    # Without it, a batch imported after 1M open items was found by walking all of them (~20 ms per
    # 100k on either backend); unbatched items stay out of this partial index.
    op.create_index(
        "ix_items_batch",
        "items",
        ["project_id", "batch", "is_gold", "open", sa.literal_column("priority DESC"), "id"],
        sqlite_where=sa.text("batch IS NOT NULL"),
        postgresql_where=sa.text("batch IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_items_batch", table_name="items")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("batch")
    # The batch rebuild above recreated ix_items_next without its DESC: put it back as 0001 made it.
    op.drop_index("ix_items_next", table_name="items")
    op.create_index(
        "ix_items_next", "items", ["project_id", "is_gold", "open", sa.literal_column("priority DESC"), "id"]
    )
