"""Caller authentication (issue 8): sealed passwords, client-certificate mappings, UsernameToken
nonces, and the agencies a one-stop system may reach (``systems.agencies``; existing systems get
none, so an operator grants them with ``directory import``).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_nonces",
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    with op.batch_alter_table("auth_nonces", schema=None) as batch_op:
        batch_op.create_index("ix_auth_nonces_seen", ["seen_at"], unique=False)

    op.create_table(
        "client_certificates",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("system_id", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    with op.batch_alter_table("client_certificates", schema=None) as batch_op:
        batch_op.create_index("ix_client_certificates_system", ["system_id"], unique=False)

    op.create_table(
        "credentials",
        sa.Column("system_id", sa.String(length=100), nullable=False),
        sa.Column("sealed_password", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("system_id"),
    )
    with op.batch_alter_table("systems", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agencies", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("systems", schema=None) as batch_op:
        batch_op.drop_column("agencies")

    op.drop_table("credentials")
    with op.batch_alter_table("client_certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_client_certificates_system")

    op.drop_table("client_certificates")
    with op.batch_alter_table("auth_nonces", schema=None) as batch_op:
        batch_op.drop_index("ix_auth_nonces_seen")

    op.drop_table("auth_nonces")
