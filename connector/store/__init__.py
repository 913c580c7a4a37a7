"""The exchange store: every piece of state, behind one small interface (``Store``).

Import from here, not from the submodules: ``records`` (what callers build and read) and
``store`` (the gateway that turns them into rows) are the package's own layout.
"""

from connector.store.evidence import ChainVerdict
from connector.store.records import (
    OPEN_STATES,
    AdminSession,
    AttemptOutcome,
    EvidenceKind,
    EvidenceRecord,
    NewOutboxItem,
    Operator,
    OperatorRole,
    OutboxItem,
    OutboxOperation,
    OutboxState,
    PackageBlob,
    ResultInfo,
    SignedHead,
    StoreConflict,
    StoredAttachment,
    StoredEvent,
    StoredExchange,
    StoredMessage,
)
from connector.store.store import Store

__all__ = [
    "OPEN_STATES",
    "AdminSession",
    "AttemptOutcome",
    "ChainVerdict",
    "EvidenceKind",
    "EvidenceRecord",
    "NewOutboxItem",
    "Operator",
    "OperatorRole",
    "OutboxItem",
    "OutboxOperation",
    "OutboxState",
    "PackageBlob",
    "ResultInfo",
    "SignedHead",
    "Store",
    "StoreConflict",
    "StoredAttachment",
    "StoredEvent",
    "StoredExchange",
    "StoredMessage",
]
