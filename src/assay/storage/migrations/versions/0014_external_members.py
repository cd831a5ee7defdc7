"""external members: annotators of a vendor's delivery, who never sign in

``memberships.external`` marks a member created by an import of answers (``assay import-answers``,
``POST /api/v1/projects/{id}/annotations``) to stand for a vendor's annotator by the name the vendor
gave them (``external_name``, unique per workforce).  Such a membership can never sign in, hold a
token or be invited: the storage writers of those refuse it.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: a batch rebuild of memberships on SQLite would have to rebuild every table
    # that references it.
    op.add_column("memberships", sa.Column("external", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("memberships", sa.Column("external_name", sa.String(200), nullable=True))
    op.create_index(
        "ix_memberships_external",
        "memberships",
        ["org_id", "workforce_id", "external_name"],
        unique=True,
        sqlite_where=sa.text("external_name IS NOT NULL"),
        postgresql_where=sa.text("external_name IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_memberships_external", table_name="memberships")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("external_name")
        batch.drop_column("external")
