"""Evidence that the database alone cannot forge (issue 19): records and the head row carry an
HMAC under a key kept outside the database; signed heads are numbered, chained, and noted in
the chain. Existing records get no MAC here (the key is not the migration's): the connector
authenticates them at its first start after the upgrade, once their chain verifies, and says so
in an evidence record (docs/evidence.md, "Records from before the upgrade").

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("evidence", "evidence_head"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("mac_key", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
    with op.batch_alter_table("signed_heads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_head_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("noted_seq", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_signed_heads_number", ["number"])


def downgrade() -> None:
    with op.batch_alter_table("signed_heads", schema=None) as batch_op:
        batch_op.drop_constraint("uq_signed_heads_number", type_="unique")
        batch_op.drop_column("noted_seq")
        batch_op.drop_column("prev_head_sha256")
        batch_op.drop_column("number")
    for table in ("evidence_head", "evidence"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("mac")
            batch_op.drop_column("mac_key")
