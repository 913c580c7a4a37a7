"""The console's activity charts (issue 24): indexes on the times they count by, so a window of
24 hours or 7 days is an index range whatever the size of the tables.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_exchanges_created_at": ("exchanges", ["created_at"]),
    "ix_outbox_created_at": ("outbox", ["created_at", "system_id"]),
    "ix_attempts_at": ("attempts", ["at", "outcome", "item_id"]),
    "ix_evidence_kind_at": ("evidence", ["kind", "at"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
