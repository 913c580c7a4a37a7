"""What the operations take and give back: plain records, shared by ``ExchangeService`` and the
transports that call it (the SOAP layer, benchmarks, tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from connector.exchange.receipts import Receipt
from connector.exchange.states import DocumentKind
from connector.store import OutboxItem, StoredEvent, StoredExchange


@dataclass(frozen=True)
class DossierInfo:
    dossier_code: str
    procedure_code: str
    onestop_number: str | None = None
    procedure_name: str | None = None
    applicant: str | None = None
    received_at: datetime | None = None
    due_date: date | None = None
    officer_opinion: str | None = None


@dataclass(frozen=True)
class SendDocumentRequest:
    message_id: str
    package: bytes = field(repr=False)
    kind: DocumentKind
    sender_username: str
    dossier: DossierInfo


@dataclass(frozen=True)
class IssueInfo:
    number_symbol: str  # Số ký hiệu of the issued result, e.g. 22/CV_LT_MOTCUA
    issue_date: date
    signer_name: str | None = None
    signer_position: str | None = None
    document_identifier: str | None = None  # e.g. 001.00.31.W00-2022-22.CV_LT_MOTCUA


@dataclass(frozen=True)
class PublishResultRequest:
    message_id: str
    package: bytes = field(repr=False)
    onestop_number: str
    issue: IssueInfo


@dataclass(frozen=True)
class UpdateStatusRequest:
    message_id: str
    package: bytes = field(repr=False)


@dataclass(frozen=True)
class SignedReceipt:
    receipt: Receipt
    signed: bytes = field(repr=False)


@dataclass(frozen=True)
class ExchangeView:
    exchange: StoredExchange
    timeline: list[StoredEvent]
    result_files: list[str]


@dataclass(frozen=True)
class PulledItem:
    item: OutboxItem
    package: bytes | None
