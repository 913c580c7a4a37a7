"""Partners behind an API gateway and on the national document axis (issue 20): a system's
protocol (soap | vxp), how the connector authenticates to it (JSON, never a secret), static
headers, the gateway application that speaks for it; an organisation's other codes (aliases);
the connector's own sealed secrets at partners.

Revision ID: 0010
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("systems") as batch:
        batch.add_column(sa.Column("protocol", sa.String(length=8), nullable=False, server_default="soap"))
        batch.add_column(sa.Column("auth", sa.Text(), nullable=True))
        batch.add_column(sa.Column("headers", sa.Text(), nullable=True))
        batch.add_column(sa.Column("gateway_application", sa.String(length=200), nullable=True))
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("aliases", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "partner_secrets",
        sa.Column("system_id", sa.String(length=100), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("system_id"),
    )


def downgrade() -> None:
    op.drop_table("partner_secrets")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("aliases")
    with op.batch_alter_table("systems") as batch:
        batch.drop_column("gateway_application")
        batch.drop_column("headers")
        batch.drop_column("auth")
        batch.drop_column("protocol")
