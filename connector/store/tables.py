"""SQLAlchemy Core tables. Portable between SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# ---- directories ------------------------------------------------------------------------
organizations = Table(
    "organizations",
    metadata,
    Column("organ_id", String(64), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("clerk_account", String(100)),
    Column("aliases", Text, nullable=False, default=""),  # ";"-joined other codes (OrganizationEntry.aliases)
)
systems = Table(
    "systems",
    metadata,
    Column("system_id", String(100), primary_key=True),
    Column("organ_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("endpoint", String(500)),
    Column("mode", String(8), nullable=False),
    Column("agencies", Text, nullable=False, default=""),  # ";"-joined OrganIds (SystemEntry.agencies)
    Column("protocol", String(8), nullable=False, default="soap"),
    Column("auth", Text),  # JSON (SystemEntry.auth); never a secret
    Column("headers", Text),  # JSON object (SystemEntry.headers); "${ENV}" values stay unexpanded
    Column("gateway_application", String(200)),
    Column("networks", Text, nullable=False, default=""),  # ";"-joined CIDRs (SystemEntry.networks)
)
accounts = Table(
    "accounts",
    metadata,
    Column("username", String(100), primary_key=True),
    Column("organ_id", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("full_name", String(200)),
)
username_map = Table(
    "username_map",
    metadata,
    Column("onestop_username", String(100), primary_key=True),
    Column("docmgmt_username", String(100), nullable=False),
)
procedures = Table(
    "procedures",
    metadata,
    Column("code", String(100), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("agency_id", String(64), nullable=False),
    Column("default_kind", String(16), nullable=False),
    Column("interconnection", Boolean, nullable=False),
)

# ---- evidence ---------------------------------------------------------------------------
directory_generation = Table(  # one row, bumped by every directory import (store/directory_cache.py)
    "directory_generation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", Integer, nullable=False),
)

packages = Table(  # original bytes as received, content-addressed
    "packages",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
)
attachments = Table(  # decoded files, stored once whatever the number of packages carrying them
    "attachments",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
)
package_attachments = Table(
    "package_attachments",
    metadata,
    Column("package_digest", String(64), ForeignKey("packages.digest"), primary_key=True),
    Column("content_id", String(500), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("sha256", String(64), ForeignKey("attachments.sha256"), nullable=False),
)

# ---- exchanges --------------------------------------------------------------------------
exchanges = Table(
    "exchanges",
    metadata,
    Column("exchange_id", String(100), primary_key=True),  # the sendDocument message id
    Column("kind", String(16), nullable=False),
    Column("state", String(32), nullable=False),
    Column("document_id", String(255), nullable=False, unique=True),
    Column("document_code", String(100)),
    Column("dossier_code", String(255), nullable=False),
    Column("onestop_number", String(100)),
    Column("procedure_code", String(100), nullable=False),
    Column("procedure_name", String(500)),
    Column("applicant", String(200)),
    Column("received_at", DateTime(timezone=True)),
    Column("due_date", DateTime(timezone=True)),
    Column("officer_opinion", Text),
    Column("sender_username", String(100), nullable=False),
    Column("source_organ", String(64), nullable=False),
    Column("agency_organ", String(64), nullable=False),
    Column("queue", String(32), nullable=False),
    Column("target_account", String(100), nullable=False),
    Column("package_digest", String(64), ForeignKey("packages.digest"), nullable=False),
    Column("result_document_id", String(255)),
    Column("result_code", String(100)),
    Column("result_issue_date", DateTime(timezone=True)),
    Column("result_signer", String(200)),
    Column("result_position", String(200)),
    Column("result_identifier", String(255)),
    Column("result_package_digest", String(64), ForeignKey("packages.digest")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The searched columns folded (connector/store/search.py): what the console's search reads.
    Column("search_text", Text, nullable=False, default=""),
)
Index("ix_exchanges_dossier", exchanges.c.dossier_code)
# Serves search_text LIKE '%...%' on PostgreSQL (pg_trgm); SQLite has an FTS5 table instead,
# made by migration 0011 beside these tables (search.py).
Index(
    "ix_exchanges_search_trgm",  # search.TRGM_INDEX
    exchanges.c.search_text,
    postgresql_using="gin",
    postgresql_ops={"search_text": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")
Index("ix_exchanges_onestop_number", exchanges.c.onestop_number)
# The console's list, newest first (ties by id), and by state: a page is read along an index,
# not sorted from all rows (0011, 0013); the charts read a window's range along it too.
Index("ix_exchanges_created", exchanges.c.created_at, exchanges.c.exchange_id)
Index("ix_exchanges_state_created", exchanges.c.state, exchanges.c.created_at, exchanges.c.exchange_id)

events = Table(  # the timeline
    "events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("exchange_id", String(100), ForeignKey("exchanges.exchange_id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("state", String(32), nullable=False),
    Column("status_code", String(2)),
    Column("actor", String(255), nullable=False),
    Column("package_digest", String(64)),
    Column("note", Text),
)
Index("ix_events_exchange", events.c.exchange_id)

messages = Table(  # idempotency: one row per message id the connector ever accepted
    "messages",
    metadata,
    Column("message_id", String(100), primary_key=True),
    Column("operation", String(32), nullable=False),
    Column("request_digest", String(64), nullable=False),
    Column("exchange_id", String(100), ForeignKey("exchanges.exchange_id"), nullable=False),
    Column("receipt", LargeBinary, nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False),
)

# ---- delivery ---------------------------------------------------------------------------
outbox = Table(
    "outbox",
    metadata,
    Column("item_id", Integer, primary_key=True, autoincrement=True),
    Column("exchange_id", String(100), ForeignKey("exchanges.exchange_id"), nullable=False),
    # the caller's message id (≤ 100) plus the operation: the same on every attempt
    Column("message_id", String(160), nullable=False, unique=True),
    Column("system_id", String(100), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("operation", String(32), nullable=False),
    Column("payload", Text, nullable=False),  # JSON: what the partner call carries
    Column("package_digest", String(64), ForeignKey("packages.digest")),
    Column("state", String(16), nullable=False),  # pending | fetched | delivered | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    Column("leased_by", String(200)),  # the worker holding the lease (its node id): reclaimed on its restart
    Column("last_error", Text),
    Column("partner_reference", String(255)),  # e.g. the registration id the partner returned
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
# The claim walks this index in order and stops at the first claimable row (connector/store/outbox.py).
Index("ix_outbox_claim", outbox.c.system_id, outbox.c.state, outbox.c.next_attempt_at, outbox.c.item_id)
# "Is an earlier item of this exchange and partner still open?", answered from the index alone.
Index("ix_outbox_exchange", outbox.c.exchange_id, outbox.c.system_id, outbox.c.item_id, outbox.c.state)
# The console's charts: items queued in a window, counted per partner from the index alone.
Index("ix_outbox_created_at", outbox.c.created_at, outbox.c.system_id)
# Counts per partner and state with the oldest item (``outbox_stats``), read from the index alone.
Index("ix_outbox_stats", outbox.c.system_id, outbox.c.state, outbox.c.created_at)

partner_queues = Table(  # per partner system: paused by an operator, the circuit breaker's state
    "partner_queues",
    metadata,
    Column("system_id", String(100), primary_key=True),
    Column("paused", Boolean, nullable=False, default=False),
    Column("paused_at", DateTime(timezone=True)),
    Column("pause_reason", Text),
    Column("breaker", String(16), nullable=False, default="closed"),  # closed | open
    Column("breaker_since", DateTime(timezone=True)),
    Column("breaker_openings", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

attempts = Table(
    "attempts",
    metadata,
    Column("attempt_id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("outbox.item_id"), nullable=False),
    Column("system_id", String(100), nullable=False),  # the item's partner, so its last outcomes are indexed
    Column("at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(16), nullable=False),  # delivered | retry | dead
    Column("error", Text),
    Column("duration_ms", Integer),
)

# ---- caller credentials (connector/auth) -------------------------------------------------
credentials = Table(  # one password per system; sealed with the secret key, never plain text
    "credentials",
    metadata,
    Column("system_id", String(100), primary_key=True),
    Column("sealed_password", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
partner_secrets = Table(  # the connector's own secret at a partner (OAuth2 client secret, VXP key), sealed
    "partner_secrets",
    metadata,
    Column("system_id", String(100), primary_key=True),
    Column("sealed_secret", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
client_certificates = Table(  # verified client certificates (SHA-256 of the DER) → system
    "client_certificates",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("system_id", String(100), nullable=False),
    Column("subject", String(1000), nullable=False),
    Column("not_after", DateTime(timezone=True), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
)
Index("ix_client_certificates_system", client_certificates.c.system_id)
auth_nonces = Table(  # UsernameToken nonces seen within the Created window: a second use is a replay
    "auth_nonces",
    metadata,
    Column("nonce", String(100), primary_key=True),  # base64 of at most 64 bytes
    Column("username", String(100), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)
Index("ix_auth_nonces_seen", auth_nonces.c.seen_at)
auth_failures = Table(  # failed authentication attempts of every process: the shared rate limit
    "auth_failures",
    metadata,
    Column("failure_id", Integer, primary_key=True, autoincrement=True),
    Column(
        "key", String(300), nullable=False
    ),  # "pair:user@address", "address:...", "username:..." (auth/authenticator.py)
    Column("failed_at", DateTime(timezone=True), nullable=False),
)
Index("ix_auth_failures_at", auth_failures.c.failed_at, auth_failures.c.key)
Index("ix_attempts_item", attempts.c.item_id)
Index("ix_attempts_at", attempts.c.at, attempts.c.outcome, attempts.c.item_id)  # the charts, covered
# A partner's last delivery and last failure (the console's partners page): one probe each.
Index("ix_attempts_outcome", attempts.c.system_id, attempts.c.outcome, attempts.c.at)
Index(
    "ix_attempts_failed",
    attempts.c.system_id,
    attempts.c.attempt_id,
    postgresql_where=attempts.c.error.is_not(None),
    sqlite_where=attempts.c.error.is_not(None),
)

# ---- evidence log: a hash chain, only ever appended (connector/store/evidence.py) -------------
evidence = Table(
    "evidence",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # 1, 2, 3... no gaps
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(16), nullable=False),  # package | receipt | event | delivery | operator
    Column("exchange_id", String(100)),
    Column("actor", String(255), nullable=False),
    Column("content", Text, nullable=False),  # canonical JSON: exactly the hashed bytes
    Column("content_sha256", String(64), nullable=False),
    Column("prev_sha256", String(64), nullable=False),
    Column("record_sha256", String(64), nullable=False),
    # HMAC-SHA256 of (seq, record_sha256) under evidence key mac_key, a file outside the database
    # (connector/store/evidence_keys.py); NULL only on records from before migration 0007
    Column("mac_key", Integer),
    Column("mac", String(64)),
)
Index("ix_evidence_exchange", evidence.c.exchange_id)
Index("ix_evidence_kind_at", evidence.c.kind, evidence.c.at)  # operators' actions in a window (the charts)

evidence_head = Table(  # one row: the chain's last record; its row lock serialises the writers
    "evidence_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("record_sha256", String(64), nullable=False),
    Column("mac_key", Integer),  # HMAC of (seq, record_sha256), like a record's
    Column("mac", String(64)),
)

signed_heads = Table(  # the chain head signed with the connector's identity, maybe timestamped
    "signed_heads",
    metadata,
    Column("head_id", Integer, primary_key=True, autoincrement=True),
    Column("seq", Integer, nullable=False),
    Column("record_sha256", String(64), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("signed_xml", LargeBinary, nullable=False),
    Column("timestamp_response", LargeBinary),  # RFC 3161 TimeStampResp (DER) over signed_xml
    Column("tsa_url", String(500)),
    # Numbered 1, 2, 3... each naming the SHA-256 of the previous numbered head's signed_xml; the
    # evidence record that notes the head (noted_seq) makes a deleted head show. NULL: legacy.
    Column("number", Integer, unique=True),
    Column("prev_head_sha256", String(64)),
    Column("noted_seq", Integer),
)

# ---- admin console -----------------------------------------------------------------------
operators = Table(
    "operators",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("password_hash", String(255), nullable=False),  # argon2id, PHC string
    Column("role", String(16), nullable=False),  # read-only | operator
    Column("created_at", DateTime(timezone=True), nullable=False),
)
admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),  # the cookie's value is never stored
    Column("operator", String(100), ForeignKey("operators.name"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
