"""index annotations by (project, annotator): the gold gates read one annotator's answers in a project

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The pause and qualification gate after each gold answer reads that annotator's gold answers in
    # the project; without this index it walked every answer of the project (32 ms at 300k answers,
    # growing with the project).
    op.create_index("ix_annotations_user", "annotations", ["project_id", "user_id"])


def downgrade() -> None:
    op.drop_index("ix_annotations_user", table_name="annotations")
