"""The evidence log (issue 12): the hash chain, its one-row head (seeded: an existing database
starts its chain here), signed heads; the admin console's operators and sessions.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("exchange_id", sa.String(length=100), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("prev_sha256", sa.String(length=64), nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_exchange", ["exchange_id"], unique=False)

    head = op.create_table(
        "evidence_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "record_sha256": "0" * 64}])  # the genesis: no record yet
    op.create_table(
        "operators",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "signed_heads",
        sa.Column("head_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_xml", sa.LargeBinary(), nullable=False),
        sa.Column("timestamp_response", sa.LargeBinary(), nullable=True),
        sa.Column("tsa_url", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("head_id"),
    )
    op.create_table(
        "admin_sessions",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator"],
            ["operators.name"],
        ),
        sa.PrimaryKeyConstraint("token_sha256"),
    )


def downgrade() -> None:
    op.drop_table("admin_sessions")
    op.drop_table("signed_heads")
    op.drop_table("operators")
    op.drop_table("evidence_head")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_exchange")

    op.drop_table("evidence")
