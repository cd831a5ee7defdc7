"""quality gates: items.settled (adaptive overlap) and project_pauses (annotators paused on gold)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The same organisation wall as revision 0005 gives every other tenant table (PostgreSQL only).
POLICY = "assay_org_isolation"
_ORG = "NULLIF(current_setting('assay.org_id', true), '')"
RULE = f"({_ORG} IS NULL OR org_id = {_ORG}::bigint)"


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch rebuild: rebuilding items on SQLite would recreate its indexes
    # from reflection, which drops the DESC of ix_items_next and turns every `next` into a sort.
    op.add_column("items", sa.Column("settled", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "project_pauses",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("org_id", Id, nullable=False),
        sa.Column("project_id", Id, nullable=False),
        sa.Column("membership_id", Id, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", Id, nullable=True),
        sa.ForeignKeyConstraint(
            ["lifted_by"], ["users.id"], name="fk_project_pauses_lifted_by_users", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name="fk_project_pauses_membership_id_memberships",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name="fk_project_pauses_org_id_organizations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_project_pauses_project_id_projects", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_project_pauses"),
    )
    op.create_index("ix_project_pauses_member", "project_pauses", ["project_id", "membership_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE project_pauses ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE project_pauses FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON project_pauses USING {RULE} WITH CHECK {RULE}")


def downgrade() -> None:
    op.drop_index("ix_project_pauses_member", table_name="project_pauses")
    op.drop_table("project_pauses")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("settled")
    # The batch rebuild above recreated ix_items_next without its DESC: put it back as 0001 made it.
    op.drop_index("ix_items_next", table_name="items")
    op.create_index(
        "ix_items_next", "items", ["project_id", "is_gold", "open", sa.literal_column("priority DESC"), "id"]
    )
