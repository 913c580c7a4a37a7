"""Failed attempts counted per (username, address), per address and per username, with growing
delays instead of a lock (issue 21, item 2): the systems' expected networks
(``systems.networks``, ";"-joined CIDRs) and the failure keys' new names. Failures recorded
under the old keys ("username:..." that locked an account from everywhere) are dropped: they
would mean something else now, and they age out within minutes anyway.

Revision ID: 0008
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("systems") as batch_op:
        batch_op.add_column(sa.Column("networks", sa.Text(), nullable=False, server_default=""))
    op.execute(sa.text("DELETE FROM auth_failures"))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM auth_failures"))
    with op.batch_alter_table("systems") as batch_op:
        batch_op.drop_column("networks")
