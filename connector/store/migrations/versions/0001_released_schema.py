"""The schema as released before migrations existed (``tables.py`` at commit 4b9e0c1).

A database made by that release's ``create_all`` has exactly these tables and no
``alembic_version``; ``connector.store.migrate`` recognises it and stamps it with this revision.
Never edit this file: change the schema with a new revision (docs/operations.md).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("organ_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "attachments",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "organizations",
        sa.Column("organ_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("clerk_account", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("organ_id"),
    )
    op.create_table(
        "packages",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_table(
        "procedures",
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("default_kind", sa.String(length=16), nullable=False),
        sa.Column("interconnection", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "systems",
        sa.Column("system_id", sa.String(length=100), nullable=False),
        sa.Column("organ_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("endpoint", sa.String(length=500), nullable=True),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("system_id"),
    )
    op.create_table(
        "username_map",
        sa.Column("onestop_username", sa.String(length=100), nullable=False),
        sa.Column("docmgmt_username", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("onestop_username"),
    )
    op.create_table(
        "exchanges",
        sa.Column("exchange_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("document_id", sa.String(length=255), nullable=False),
        sa.Column("document_code", sa.String(length=100), nullable=True),
        sa.Column("dossier_code", sa.String(length=255), nullable=False),
        sa.Column("onestop_number", sa.String(length=100), nullable=True),
        sa.Column("procedure_code", sa.String(length=100), nullable=False),
        sa.Column("procedure_name", sa.String(length=500), nullable=True),
        sa.Column("applicant", sa.String(length=200), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("officer_opinion", sa.Text(), nullable=True),
        sa.Column("sender_username", sa.String(length=100), nullable=False),
        sa.Column("source_organ", sa.String(length=64), nullable=False),
        sa.Column("agency_organ", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("target_account", sa.String(length=100), nullable=False),
        sa.Column("package_digest", sa.String(length=64), nullable=False),
        sa.Column("result_document_id", sa.String(length=255), nullable=True),
        sa.Column("result_code", sa.String(length=100), nullable=True),
        sa.Column("result_issue_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result_signer", sa.String(length=200), nullable=True),
        sa.Column("result_position", sa.String(length=200), nullable=True),
        sa.Column("result_identifier", sa.String(length=255), nullable=True),
        sa.Column("result_package_digest", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_digest"],
            ["packages.digest"],
        ),
        sa.ForeignKeyConstraint(
            ["result_package_digest"],
            ["packages.digest"],
        ),
        sa.PrimaryKeyConstraint("exchange_id"),
        sa.UniqueConstraint("document_id"),
    )
    op.create_index("ix_exchanges_dossier", "exchanges", ["dossier_code"], unique=False)
    op.create_index("ix_exchanges_onestop_number", "exchanges", ["onestop_number"], unique=False)
    op.create_table(
        "package_attachments",
        sa.Column("package_digest", sa.String(length=64), nullable=False),
        sa.Column("content_id", sa.String(length=500), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_digest"],
            ["packages.digest"],
        ),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["attachments.sha256"],
        ),
        sa.PrimaryKeyConstraint("package_digest", "content_id"),
    )
    op.create_table(
        "events",
        sa.Column("event_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("exchange_id", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("status_code", sa.String(length=2), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("package_digest", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.exchange_id"],
        ),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_events_exchange", "events", ["exchange_id"], unique=False)
    op.create_table(
        "messages",
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("exchange_id", sa.String(length=100), nullable=False),
        sa.Column("receipt", sa.LargeBinary(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.exchange_id"],
        ),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("item_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("exchange_id", sa.String(length=100), nullable=False),
        sa.Column("message_id", sa.String(length=160), nullable=False),
        sa.Column("system_id", sa.String(length=100), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("package_digest", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("partner_reference", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.exchange_id"],
        ),
        sa.ForeignKeyConstraint(
            ["package_digest"],
            ["packages.digest"],
        ),
        sa.PrimaryKeyConstraint("item_id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"], unique=False)
    op.create_table(
        "attempts",
        sa.Column("attempt_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["outbox.item_id"],
        ),
        sa.PrimaryKeyConstraint("attempt_id"),
    )


def downgrade() -> None:
    op.drop_table("attempts")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("messages")
    op.drop_index("ix_events_exchange", table_name="events")
    op.drop_table("events")
    op.drop_table("package_attachments")
    op.drop_index("ix_exchanges_onestop_number", table_name="exchanges")
    op.drop_index("ix_exchanges_dossier", table_name="exchanges")
    op.drop_table("exchanges")
    op.drop_table("username_map")
    op.drop_table("systems")
    op.drop_table("procedures")
    op.drop_table("packages")
    op.drop_table("organizations")
    op.drop_table("attachments")
    op.drop_table("accounts")
