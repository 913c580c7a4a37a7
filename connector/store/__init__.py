"""The exchange store: every piece of state, behind one small interface (``Store``).

Import from here, not from the submodules: ``records`` (what callers build and read) and
``store`` (the gateway that turns them into rows) are the package's own layout.
"""

from connector.store.credentials import CertificateMapping, CredentialStore, CredentialSummary
from connector.store.directory_cache import DirectoryCache
from connector.store.evidence_check import ChainVerdict
from connector.store.evidence_keys import EvidenceKeyError, EvidenceKeys
from connector.store.migrate import (
    MigrationError,
    SchemaState,
    head_revision,
    require_up_to_date,
    schema_state,
    upgrade_schema,
)
from connector.store.records import (
    OPEN_STATES,
    Activity,
    AdminSession,
    AttemptOutcome,
    BreakerState,
    EvidenceKind,
    EvidenceRecord,
    NewOutboxItem,
    Operator,
    OperatorRole,
    OutboxItem,
    OutboxOperation,
    OutboxState,
    OutboxStats,
    PackageBlob,
    PartnerQueue,
    ResultInfo,
    SignedHead,
    StoreConflictError,
    StoredAttachment,
    StoredEvent,
    StoredExchange,
    StoredMessage,
)
from connector.store.store import Store

__all__ = [
    "MigrationError",
    "SchemaState",
    "head_revision",
    "require_up_to_date",
    "schema_state",
    "upgrade_schema",
    "OPEN_STATES",
    "Activity",
    "AdminSession",
    "AttemptOutcome",
    "CertificateMapping",
    "CredentialStore",
    "CredentialSummary",
    "BreakerState",
    "ChainVerdict",
    "EvidenceKeyError",
    "EvidenceKeys",
    "EvidenceKind",
    "EvidenceRecord",
    "NewOutboxItem",
    "Operator",
    "OperatorRole",
    "OutboxItem",
    "OutboxOperation",
    "OutboxState",
    "OutboxStats",
    "PackageBlob",
    "PartnerQueue",
    "ResultInfo",
    "SignedHead",
    "DirectoryCache",
    "Store",
    "StoreConflictError",
    "StoredAttachment",
    "StoredEvent",
    "StoredExchange",
    "StoredMessage",
]
