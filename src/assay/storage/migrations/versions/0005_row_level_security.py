"""row-level security on every tenant table (PostgreSQL): a second wall behind the scoped queries

Every query already names its organisation in SQL.  This adds a forced policy (the table owner obeys
it too) that admits a row only when its ``org_id`` is the organisation of the transaction's
``assay.org_id`` setting, or when no organisation is set (system scope: authentication lookups that
span organisations, the operator's CLI, migrations, backup and restore).  A query that forgot its
``WHERE org_id = …`` still sees, and may write, only the caller's organisation.

Superusers and BYPASSRLS roles skip every policy, forced or not: the application must connect as an
ordinary role.  SQLite has no row-level security; there this revision does nothing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: Every table with an ``org_id`` column (tables.py); organizations and users are shared.
TENANT_TABLES = (
    "workforces",
    "memberships",
    "skills",
    "membership_skills",
    "api_tokens",
    "projects",
    "items",
    "assignments",
    "annotations",
    "reviews",
    "audit_events",
)
POLICY = "assay_org_isolation"
# NULLIF turns "unset" ('' once the setting has been used in the session, NULL before) into NULL, so
# the cast never sees '' whatever order PostgreSQL evaluates the two branches in.
_ORG = "NULLIF(current_setting('assay.org_id', true), '')"
RULE = f"({_ORG} IS NULL OR org_id = {_ORG}::bigint)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING {RULE} WITH CHECK {RULE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
