"""models in the loop: model connections, items waiting for their responses, job progress

``model_connections`` holds an organisation's OpenAI-compatible endpoints (the API key sealed).
``items.waiting`` marks an item that lacks the responses a question compares, offered to nobody until
a generation job has filled them.  ``jobs`` gains what a job was asked (``params``) and how far it
got (``done``/``total``/``errors``), written while it runs.

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0014"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
POLICY = "assay_org_isolation"
_ORG = "NULLIF(current_setting('assay.org_id', true), '')"
RULE = f"({_ORG} IS NULL OR org_id = {_ORG}::bigint)"


def upgrade() -> None:
    from assay.storage.tables import Time

    op.create_table(
        "model_connections",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("base_url", sa.String(500), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("api_key", sa.Text),
        sa.Column("params", Json, nullable=False),
        sa.Column("price_in", sa.Float),
        sa.Column("price_out", sa.Float),
        sa.Column("created_by", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_connections"),
        sa.UniqueConstraint("org_id", "name", name="uq_model_connections_org_id_name"),
    )
    # Plain ADD COLUMNs: a batch rebuild of items on SQLite would drop ix_items_next's DESC.
    op.add_column("items", sa.Column("waiting", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("jobs", sa.Column("params", Json))
    op.add_column("jobs", sa.Column("done", sa.Integer, nullable=False, server_default="0"))
    op.add_column("jobs", sa.Column("total", sa.Integer, nullable=False, server_default="0"))
    op.add_column("jobs", sa.Column("errors", Json))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE model_connections ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE model_connections FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON model_connections USING {RULE} WITH CHECK {RULE}")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("errors")
        batch.drop_column("total")
        batch.drop_column("done")
        batch.drop_column("params")
    op.drop_column("items", "waiting")
    op.drop_table("model_connections")
