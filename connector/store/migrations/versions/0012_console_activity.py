"""The console's activity charts (issue 24): indexes on the times they count by, so a window of
24 hours or 7 days is an index range whatever the size of the tables. (Exchanges are read
along ``ix_exchanges_created``, made by 0011 for the console's list.)

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEXES = {
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
