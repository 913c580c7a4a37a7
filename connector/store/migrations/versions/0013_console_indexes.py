"""The console on a month of traffic (issue 24): indexes for its lists and per-partner figures.

- exchanges of one state, newest first: a page is read from an index instead of sorting the
  table (``ix_exchanges_state_created``; all of them: 0011's ``ix_exchanges_created``);
- the outbox's counts per partner and state with their oldest item, from an index alone
  (``ix_outbox_stats``);
- each attempt names its partner (``attempts.system_id``, filled from the outbox here): a
  partner's last delivery and last failure are one index probe each (``ix_attempts_outcome``,
  ``ix_attempts_failed``) instead of a join of the whole attempts log with the outbox.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_exchanges_state_created", "exchanges", ["state", "created_at", "exchange_id"], unique=False)
    op.create_index("ix_outbox_stats", "outbox", ["system_id", "state", "created_at"], unique=False)
    op.add_column("attempts", sa.Column("system_id", sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE attempts SET system_id = (SELECT outbox.system_id FROM outbox WHERE outbox.item_id = attempts.item_id)"
    )
    with op.batch_alter_table("attempts") as batch:
        batch.alter_column("system_id", existing_type=sa.String(length=100), nullable=False)
    op.create_index("ix_attempts_outcome", "attempts", ["system_id", "outcome", "at"], unique=False)
    failed = sa.text("error IS NOT NULL")
    op.create_index(
        "ix_attempts_failed",
        "attempts",
        ["system_id", "attempt_id"],
        unique=False,
        postgresql_where=failed,
        sqlite_where=failed,
    )


def downgrade() -> None:
    op.drop_index("ix_attempts_failed", table_name="attempts")
    op.drop_index("ix_attempts_outcome", table_name="attempts")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("system_id")
    op.drop_index("ix_outbox_stats", table_name="outbox")
    op.drop_index("ix_exchanges_state_created", table_name="exchanges")
