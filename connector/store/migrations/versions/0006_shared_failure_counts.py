"""Failed authentication attempts in the database (issue 10, several nodes): every process
records its failures, and every process refuses a username or address that reached the limit
on any of them (``connector/auth/ratelimit.py``). Rows older than the window are purged.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_failures",
        sa.Column("failure_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("failure_id"),
    )
    op.create_index("ix_auth_failures_at", "auth_failures", ["failed_at", "key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_auth_failures_at", table_name="auth_failures")
    op.drop_table("auth_failures")
