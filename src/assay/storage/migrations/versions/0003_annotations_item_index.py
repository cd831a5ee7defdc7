"""index annotations by item id: export pages, item views and reviews look them up that way

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_annotations_item_id", "annotations", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_annotations_item_id", table_name="annotations")
