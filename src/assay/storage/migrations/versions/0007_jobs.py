"""the job queue (jobs) and quality snapshots (the live quality report and its fitted model)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The same organisation wall as revision 0005 gives every other tenant table (PostgreSQL only).
POLICY = "assay_org_isolation"
_ORG = "NULLIF(current_setting('assay.org_id', true), '')"
RULE = f"({_ORG} IS NULL OR org_id = {_ORG}::bigint)"
Time = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("org_id", Id, nullable=False),
        sa.Column("project_id", Id, nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("state", sa.String(10), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("run_after", Time, nullable=False),
        sa.Column("locked_by", sa.String(120), nullable=True),
        sa.Column("locked_until", Time, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", Json, nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("started_at", Time, nullable=True),
        sa.Column("finished_at", Time, nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="ck_jobs_state"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_jobs_org_id_organizations", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_jobs_project_id_projects", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_ready", "jobs", ["state", "run_after"])
    op.create_index(
        "ix_jobs_one_queued",
        "jobs",
        ["project_id", "kind"],
        unique=True,
        sqlite_where=sa.text("state = 'queued'"),
        postgresql_where=sa.text("state = 'queued'"),
    )
    op.create_table(
        "quality_snapshots",
        sa.Column("project_id", Id, nullable=False),
        sa.Column("org_id", Id, nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("report", Json, nullable=False),
        sa.Column("workers", Json, nullable=False),
        sa.Column("computed_at", Time, nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name="fk_quality_snapshots_org_id_organizations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_quality_snapshots_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name="pk_quality_snapshots"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in ("jobs", "quality_snapshots"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING {RULE} WITH CHECK {RULE}")


def downgrade() -> None:
    op.drop_table("quality_snapshots")
    op.drop_index("ix_jobs_one_queued", table_name="jobs")
    op.drop_index("ix_jobs_ready", table_name="jobs")
    op.drop_table("jobs")
