"""Delivery through outages (issue 14): the claim's indexes, per-partner queue state (pause and
circuit breaker), and the attempts looked up by item.

``ix_outbox_claim`` (system, state, next attempt, item) is what the per-partner claim walks in
order; ``ix_outbox_exchange`` answers "is an earlier item of this exchange and partner still
open?" from the index alone; ``ix_outbox_due`` served the old claim and is dropped.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_queues",
        sa.Column("system_id", sa.String(length=100), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("breaker", sa.String(length=16), nullable=False),
        sa.Column("breaker_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breaker_openings", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("system_id"),
    )
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index("ix_outbox_claim", "outbox", ["system_id", "state", "next_attempt_at", "item_id"], unique=False)
    op.create_index("ix_outbox_exchange", "outbox", ["exchange_id", "system_id", "item_id", "state"], unique=False)
    op.create_index("ix_attempts_item", "attempts", ["item_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_attempts_item", table_name="attempts")
    op.drop_index("ix_outbox_exchange", table_name="outbox")
    op.drop_index("ix_outbox_claim", table_name="outbox")
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"], unique=False)
    op.drop_table("partner_queues")
