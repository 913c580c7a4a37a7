"""What the store keeps and hands back: plain records and the outbox's vocabularies.

Callers build and read these; only ``Store`` turns them into rows and back.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from connector.errors import SimpleError
from connector.exchange.directory import DeliveryMode
from connector.exchange.states import DocumentKind, ExchangeState
from signing import ChainLink


def columns(record: Any) -> dict[str, Any]:
    """A flat record's fields by name: ``dataclasses.asdict`` without its deep copy (which cost
    a twentieth of a request)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


class StoreConflictError(SimpleError):
    """A unique key was taken by a concurrent writer (same message id or document id)."""


class OutboxState(enum.StrEnum):
    """Where an outbox item is: waiting (push or pull), fetched by a pull partner, done, or given up."""

    PENDING = "pending"
    FETCHED = "fetched"
    DELIVERED = "delivered"
    DEAD = "dead"


OPEN_STATES = frozenset({OutboxState.PENDING, OutboxState.FETCHED})
"""States in which an item still has to reach its partner (and holds back later items of its exchange)."""


class AttemptOutcome(enum.StrEnum):
    """How one delivery attempt ended, as recorded in the attempts log."""

    DELIVERED = "delivered"
    RETRY = "retry"  # back to pending, due at next_attempt_at
    DEAD = "dead"  # dead-lettered: an operator may retry it


class OutboxOperation(enum.StrEnum):
    """The partner call an outbox item turns into (``connector.soap.partner_contracts``)."""

    DELIVER_DOCUMENT = "deliverDocument"
    DELIVER_RESULT = "deliverResult"
    DELIVER_STATUS = "deliverStatus"


STATE_AFTER = {
    AttemptOutcome.DELIVERED: OutboxState.DELIVERED,
    AttemptOutcome.RETRY: OutboxState.PENDING,
    AttemptOutcome.DEAD: OutboxState.DEAD,
}


@dataclass(frozen=True)
class StoredAttachment:
    content_id: str
    name: str
    content_type: str
    sha256: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class PackageBlob:
    digest: str
    data: bytes = field(repr=False)
    attachments: tuple[StoredAttachment, ...] = ()


@dataclass(frozen=True)
class StoredMessage:
    message_id: str
    operation: str
    request_digest: str
    exchange_id: str
    receipt: bytes
    accepted_at: datetime


@dataclass
class StoredExchange:
    exchange_id: str
    kind: DocumentKind
    state: ExchangeState
    document_id: str
    document_code: str | None
    dossier_code: str
    onestop_number: str | None
    procedure_code: str
    procedure_name: str | None
    applicant: str | None
    received_at: datetime | None
    due_date: datetime | None
    officer_opinion: str | None
    sender_username: str
    source_organ: str
    agency_organ: str
    queue: str
    target_account: str
    package_digest: str
    created_at: datetime
    updated_at: datetime
    result_document_id: str | None = None
    result_code: str | None = None
    result_issue_date: datetime | None = None
    result_signer: str | None = None
    result_position: str | None = None
    result_identifier: str | None = None
    result_package_digest: str | None = None


@dataclass(frozen=True)
class ResultInfo:
    document_id: str
    code: str
    issue_date: datetime | None
    signer: str | None
    position: str | None
    identifier: str | None
    package_digest: str


@dataclass(frozen=True)
class StoredEvent:
    at: datetime
    state: ExchangeState
    actor: str
    status_code: str | None = None
    package_digest: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class NewOutboxItem:
    message_id: str
    system_id: str
    mode: DeliveryMode
    operation: OutboxOperation
    payload: str
    package_digest: str | None = None


@dataclass(frozen=True)
class OutboxItem:
    item_id: int
    exchange_id: str
    message_id: str
    system_id: str
    mode: DeliveryMode
    operation: OutboxOperation
    payload: str
    package_digest: str | None
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    partner_reference: str | None
    created_at: datetime
    updated_at: datetime


class BreakerState(enum.StrEnum):
    """A partner's circuit breaker (``connector/delivery/breaker.py``)."""

    CLOSED = "closed"  # deliver normally
    OPEN = "open"  # the partner is down: one probe per interval, nothing else


@dataclass(frozen=True)
class PartnerQueue:
    """A partner's queue as operators and workers see it: paused, and what the breaker says."""

    system_id: str
    paused: bool = False
    paused_at: datetime | None = None
    pause_reason: str | None = None
    breaker: BreakerState = BreakerState.CLOSED
    breaker_since: datetime | None = None  # when it last changed
    breaker_openings: int = 0  # how often it opened, ever
    last_error: str | None = None  # the failure that opened it


@dataclass(frozen=True)
class OutboxStats:
    """One partner and state: the figures of ``outbox stats`` and of ``/metrics``."""

    system_id: str
    state: OutboxState
    count: int
    oldest_created_at: datetime | None
    next_attempt_at: datetime | None  # the earliest not in flight; None for delivered and dead items
    in_flight: int  # claimed by a worker and not finished yet
    paused: bool = False
    breaker: BreakerState = BreakerState.CLOSED
    breaker_since: datetime | None = None


@dataclass(frozen=True)
class Activity:
    """The console's charts (``Store.activity``): per bucket of a window, from its start."""

    starts: tuple[datetime, ...]
    """Each bucket's start (UTC); buckets are ``width`` long and the last one holds ``now``."""
    width: timedelta
    accepted: tuple[int, ...]
    """Exchanges created; for one partner, the outbox items queued for it."""
    delivered: tuple[int, ...]
    """Delivery attempts that succeeded (a pull partner's acknowledgement of one counts)."""
    failed: tuple[int, ...]
    """Delivery attempts that failed: retried later, or dead-lettered."""
    backlog: tuple[int, ...]
    """Outbox items still to reach their partner (pending or fetched) at each bucket's end; at
    ``now`` for the last bucket."""


# ---- evidence log -------------------------------------------------------------------------
class EvidenceKind(enum.StrEnum):
    """What an evidence record attests."""

    PACKAGE = "package"  # a package accepted, as received (its SHA-256)
    RECEIPT = "receipt"  # a receipt the connector signed (its SHA-256)
    EVENT = "event"  # a timeline event: a state change, or a transport event
    DELIVERY = "delivery"  # how a delivery attempt or a pull acknowledgement ended
    OPERATOR = "operator"  # an operator's action (e.g. a dead letter retried)


@dataclass(frozen=True)
class EvidenceRecord:
    """One link of the hash chain; ``content`` is exactly the hashed bytes (canonical JSON)."""

    seq: int
    at: datetime
    kind: EvidenceKind
    exchange_id: str | None
    actor: str
    content: str
    content_sha256: str
    prev_sha256: str
    record_sha256: str
    mac_key: int | None = None  # the evidence key of ``mac`` (connector/store/evidence_keys.py)
    mac: str | None = None  # None: a record from before migration 0007 not yet authenticated

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.content)["data"]

    @property
    def link(self) -> ChainLink:
        return ChainLink(self.seq, self.content_sha256, self.prev_sha256, self.record_sha256)


@dataclass(frozen=True)
class SignedHead:
    """The chain head at ``seq``, signed by the connector, with an RFC 3161 timestamp when a TSA
    is configured."""

    head_id: int
    seq: int
    record_sha256: str
    signed_at: datetime
    signed_xml: bytes = field(repr=False)
    timestamp_response: bytes | None = field(default=None, repr=False)
    tsa_url: str | None = None
    number: int | None = None
    """1, 2, 3...; None: signed before heads were numbered (legacy)."""
    prev_head_sha256: str | None = None
    """SHA-256 of the previous numbered head's ``signed_xml`` (64 zeros for head 1)."""
    noted_seq: int | None = None
    """The evidence record that notes this head (``action`` ``head signed``)."""


# ---- admin console ------------------------------------------------------------------------
class OperatorRole(enum.StrEnum):
    """What an operator of the admin console may do."""

    READ_ONLY = "read-only"  # sees everything, changes nothing
    OPERATOR = "operator"  # may also retry dead letters and sign the chain head


@dataclass(frozen=True)
class Operator:
    name: str
    password_hash: str = field(repr=False)
    role: OperatorRole
    created_at: datetime


@dataclass(frozen=True)
class AdminSession:
    operator: Operator
    csrf_token: str = field(repr=False)
    expires_at: datetime
