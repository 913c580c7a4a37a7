"""The connector's operations, framework-free: the SOAP layer translates to and from these.

sendDocument and publishResult carry signed edXML document packages; updateStatus carries
status packages; getStatus reads the timeline; the pull operations serve systems that cannot
host an endpoint. Every operation is idempotent by message id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TypeVar

from connector.directory import SystemKind
from connector.edxml import ParseLimits, ValidationSettings
from connector.edxml.model import DocumentPackage, StatusCode, StatusPackage
from connector.errors import ConnectorError, ErrorCode
from connector.exchange import DocumentKind, ExchangeState, IllegalTransition, can_publish_result, next_state
from connector.pipeline import AcceptedPackage, StageTimings, accept_package
from connector.receipts import Receipt, sign_receipt
from connector.routing import route
from connector.store import Store, StoredEvent, StoredExchange
from connector.store.store import NewOutboxItem, OutboxItem, ResultInfo, StoreConflict, StoredMessage, utcnow
from signing import SigningIdentity, VerificationPolicy

P = TypeVar("P", DocumentPackage, StatusPackage)


# ---- requests -------------------------------------------------------------------------
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


@dataclass(frozen=True)
class ServiceConfig:
    policy: VerificationPolicy
    identity: SigningIdentity  # signs receipts
    validation: ValidationSettings = ValidationSettings()
    limits: ParseLimits = ParseLimits()


def _digest(operation: str, package_digest: str, metadata: object) -> str:
    """What makes a request the same request: operation, package and metadata."""
    h = hashlib.sha256(operation.encode())
    h.update(package_digest.encode())
    h.update(json.dumps(metadata, sort_keys=True, default=str).encode())
    return h.hexdigest()


class ExchangeService:
    def __init__(self, store: Store, config: ServiceConfig) -> None:
        self.store = store
        self.config = config

    # ---- shared steps -----------------------------------------------------------------
    def _replay(self, message_id: str, request_digest: str) -> SignedReceipt | None:
        """Same id, same content: the original receipt. Same id, other content: a fault."""
        stored = self.store.message(message_id)
        if stored is None:
            return None
        if stored.request_digest != request_digest:
            raise ConnectorError(
                ErrorCode.DUPLICATE_MESSAGE,
                f"message id {message_id!r} was already used on {stored.accepted_at:%Y-%m-%d %H:%M:%S} "
                f"for {stored.operation} with different content",
                "messageId",
            )
        return SignedReceipt(Receipt.from_xml(stored.receipt), stored.receipt)

    def _accept_as(self, kind: type[P], operation: str, data: bytes, digest: str,
                   timings: StageTimings) -> tuple[AcceptedPackage, P]:
        """The pipeline's package stages, then the package kind the operation needs."""
        accepted = accept_package(data, self.config.policy, self.config.validation, self.config.limits, timings, digest)
        if not isinstance(accepted.package, kind):
            wanted = "a status package (with StatusCode)" if kind is StatusPackage else "a document package, not a status package"
            raise ConnectorError(ErrorCode.PACKAGE_INVALID, f"{operation} needs {wanted}", "package")
        return accepted, accepted.package

    def _receipt(self, message_id: str, operation: str, exchange: StoredExchange, state: ExchangeState,
                 digest: str, at: datetime) -> SignedReceipt:
        receipt = Receipt(
            message_id=message_id,
            operation=operation,
            exchange_id=exchange.exchange_id,
            accepted_at=at,
            state=state.value,
            document_id=exchange.document_id,
            package_digest=digest,
            agency_id=exchange.agency_organ,
            queue=exchange.queue,
            target_account=exchange.target_account,
        )
        return SignedReceipt(receipt, sign_receipt(receipt, self.config.identity))

    def _message(self, message_id: str, operation: str, request_digest: str, exchange_id: str,
                 receipt: SignedReceipt) -> StoredMessage:
        return StoredMessage(message_id, operation, request_digest, exchange_id, receipt.signed, receipt.receipt.accepted_at)

    def _relay(self, organ_id: str, kind: SystemKind, message_id: str, operation: str,
               payload: dict[str, object], digest: str | None) -> list[NewOutboxItem]:
        system = self.store.system_for(organ_id, kind)
        if system is None:  # nobody to tell: the timeline still has it
            return []
        return [NewOutboxItem(f"{message_id}:{operation}", system.system_id, system.mode, operation,
                              json.dumps(payload, ensure_ascii=False, default=str), digest)]

    # ---- sendDocument -----------------------------------------------------------------
    def send_document(self, request: SendDocumentRequest, timings: StageTimings | None = None) -> SignedReceipt:
        timings = timings or StageTimings()
        metadata = {"kind": request.kind.value, "user": request.sender_username, "dossier": asdict(request.dossier)}
        package_digest = hashlib.sha256(request.package).hexdigest()
        request_digest = _digest("sendDocument", package_digest, metadata)
        replay = self._replay(request.message_id, request_digest)
        if replay:
            return replay
        accepted, package = self._accept_as(DocumentPackage, "sendDocument", request.package, package_digest, timings)
        with timings.stage("route"):
            if self.store.organization(package.sender.organ_id) is None:
                raise ConnectorError(
                    ErrorCode.UNKNOWN_ORGANIZATION,
                    f"sender {package.sender.organ_id!r} is not in the organisation directory",
                    "package/MessageHeader/From/OrganId",
                )
            existing = self.store.exchange_by_document_id(package.document_id)
            if existing is not None:
                raise ConnectorError(
                    ErrorCode.DUPLICATE_MESSAGE,
                    f"DocumentId {package.document_id!r} was already sent as message {existing.exchange_id!r}",
                    "package/MessageHeader/DocumentId",
                )
            decision = route(self.store, request.dossier.procedure_code, request.kind, request.sender_username,
                             [r.organ_id for r in package.recipients])
        with timings.stage("persist"):
            now = utcnow()
            dossier = request.dossier
            exchange = StoredExchange(
                exchange_id=request.message_id,
                kind=request.kind,
                state=ExchangeState.ACCEPTED,
                document_id=package.document_id,
                document_code=str(package.code) or None,
                dossier_code=dossier.dossier_code,
                onestop_number=dossier.onestop_number,
                procedure_code=dossier.procedure_code,
                procedure_name=dossier.procedure_name,
                applicant=dossier.applicant,
                received_at=dossier.received_at,
                due_date=datetime.combine(dossier.due_date, datetime.min.time()) if dossier.due_date else None,
                officer_opinion=dossier.officer_opinion,
                sender_username=request.sender_username,
                source_organ=package.sender.organ_id,
                agency_organ=decision.agency_id,
                queue=decision.queue.value,
                target_account=decision.target_account,
                package_digest=accepted.digest,
                created_at=now,
                updated_at=now,
            )
            receipt = self._receipt(request.message_id, "sendDocument", exchange, ExchangeState.ACCEPTED, accepted.digest, now)
            payload = {
                "exchange_id": exchange.exchange_id,
                "kind": request.kind.value,
                "queue": decision.queue.value,
                "target_account": decision.target_account,
                "officer_account": decision.officer_account,
                "document_id": package.document_id,
                "code": str(package.code),
                "subject": package.subject,
                "dossier": asdict(dossier),
            }
            system = decision.system
            outbox = [NewOutboxItem(f"{request.message_id}:deliverDocument", system.system_id, system.mode,
                                    "deliverDocument", json.dumps(payload, ensure_ascii=False, default=str), accepted.digest)]
            actor = f"{package.sender.organ_id}/{request.sender_username}"
            note = f"routed to {decision.agency_id} {decision.queue.value} queue of {decision.target_account}"
            try:
                self.store.create_exchange(
                    exchange,
                    accepted.blob(),
                    self._message(request.message_id, "sendDocument", request_digest, exchange.exchange_id, receipt),
                    StoredEvent(now, ExchangeState.ACCEPTED, actor, None, accepted.digest, note),
                    outbox,
                )
            except StoreConflict:
                # A concurrent request with the same message id or DocumentId won the race.
                replay = self._replay(request.message_id, request_digest)
                if replay:
                    return replay
                raise ConnectorError(ErrorCode.DUPLICATE_MESSAGE, f"DocumentId {package.document_id!r} was sent concurrently", "package") from None
        return receipt

    # ---- publishResult ----------------------------------------------------------------
    def publish_result(self, request: PublishResultRequest, timings: StageTimings | None = None) -> SignedReceipt:
        timings = timings or StageTimings()
        package_digest = hashlib.sha256(request.package).hexdigest()
        request_digest = _digest("publishResult", package_digest, {"onestop": request.onestop_number, "issue": asdict(request.issue)})
        replay = self._replay(request.message_id, request_digest)
        if replay:
            return replay
        accepted, package = self._accept_as(DocumentPackage, "publishResult", request.package, package_digest, timings)
        with timings.stage("route"):
            exchange = self._original_of(package, request.onestop_number)
            if package.sender.organ_id != exchange.agency_organ:
                raise ConnectorError(
                    ErrorCode.SENDER_MISMATCH,
                    f"the result comes from {package.sender.organ_id}, but the exchange was routed to {exchange.agency_organ}",
                    "package/MessageHeader/From/OrganId",
                )
            if str(package.code) != request.issue.number_symbol:
                raise ConnectorError(
                    ErrorCode.PACKAGE_INVALID,
                    f"issue.numberSymbol {request.issue.number_symbol!r} differs from the package Code {str(package.code)!r}",
                    "issue.numberSymbol",
                )
            refusal = can_publish_result(exchange.state, exchange.result_document_id is not None)
            if refusal:
                raise ConnectorError(ErrorCode.ILLEGAL_TRANSITION, f"cannot publish a result: {refusal}", "package/MessageHeader/ResponseFor")
        with timings.stage("persist"):
            now = utcnow()
            receipt = self._receipt(request.message_id, "publishResult", exchange, ExchangeState.FINISHED, accepted.digest, now)
            issue = request.issue
            payload = {
                "exchange_id": exchange.exchange_id,
                "onestop_number": request.onestop_number,
                "dossier_code": exchange.dossier_code,
                "document_id": package.document_id,
                "number_symbol": issue.number_symbol,
                "issue_date": issue.issue_date.isoformat(),
                "signer_name": issue.signer_name,
                "signer_position": issue.signer_position,
                "document_identifier": issue.document_identifier,
                "files": [a.name for a in package.attachments],
            }
            outbox = self._relay(exchange.source_organ, SystemKind.ONESTOP, request.message_id, "deliverResult", payload, accepted.digest)
            result = ResultInfo(
                package.document_id,
                issue.number_symbol,
                datetime.combine(issue.issue_date, datetime.min.time()),
                issue.signer_name,
                issue.signer_position,
                issue.document_identifier,
                accepted.digest,
            )
            event = StoredEvent(now, ExchangeState.FINISHED, f"{package.sender.organ_id}/{issue.signer_name or '-'}", "06",
                                accepted.digest, f"result {issue.number_symbol} issued {issue.issue_date:%Y/%m/%d}")
            message = self._message(request.message_id, "publishResult", request_digest, exchange.exchange_id, receipt)
            return self._advance(exchange, event, accepted, message, outbox, result) or receipt

    def _original_of(self, package: DocumentPackage, onestop_number: str) -> StoredExchange:
        ids = [r.document_id for r in package.response_for if r.document_id]
        if not ids:
            raise ConnectorError(ErrorCode.UNKNOWN_DOCUMENT, "the result package has no ResponseFor/DocumentId pointing at the original document",
                                 "package/MessageHeader/ResponseFor/DocumentId")
        for document_id in ids:
            exchange = self.store.exchange_by_document_id(document_id)
            if exchange is not None:
                if exchange.onestop_number and exchange.onestop_number != onestop_number:
                    raise ConnectorError(
                        ErrorCode.UNKNOWN_DOCUMENT,
                        f"dossier number {onestop_number!r} does not match the exchange of DocumentId {document_id!r} "
                        f"(dossier number {exchange.onestop_number!r})",
                        "onestopNumber",
                    )
                return exchange
        raise ConnectorError(ErrorCode.UNKNOWN_DOCUMENT, f"no exchange for ResponseFor/DocumentId {', '.join(ids)}",
                             "package/MessageHeader/ResponseFor/DocumentId")

    def _advance(self, exchange: StoredExchange, event: StoredEvent, accepted: AcceptedPackage,
                 message: StoredMessage, outbox: list[NewOutboxItem], result: ResultInfo | None = None) -> SignedReceipt | None:
        """Record the change; if a concurrent request got there first, answer as it would have:
        the same message (a client's retry racing itself) gets the original receipt."""
        try:
            moved = self.store.advance(exchange.exchange_id, exchange.state, event, accepted.blob(), message, outbox, result)
        except StoreConflict:
            moved = False
        if moved:
            return None
        replay = self._replay(message.message_id, message.request_digest)
        if replay:
            return replay
        raise ConnectorError(
            ErrorCode.ILLEGAL_TRANSITION,
            "the exchange changed state while this request was processed; read it with getStatus and retry",
            "messageId",
        )

    # ---- updateStatus -----------------------------------------------------------------
    def update_status(self, request: UpdateStatusRequest, timings: StageTimings | None = None) -> SignedReceipt:
        timings = timings or StageTimings()
        package_digest = hashlib.sha256(request.package).hexdigest()
        request_digest = _digest("updateStatus", package_digest, {})
        replay = self._replay(request.message_id, request_digest)
        if replay:
            return replay
        accepted, status = self._accept_as(StatusPackage, "updateStatus", request.package, package_digest, timings)
        with timings.stage("route"):
            document_id = status.response_for.document_id
            exchange = self.store.exchange_by_document_id(document_id or "")
            if exchange is None:
                raise ConnectorError(ErrorCode.UNKNOWN_DOCUMENT, f"no exchange for ResponseFor/DocumentId {document_id!r}",
                                     "package/MessageHeader/ResponseFor/DocumentId")
            sender = status.sender.organ_id
            # Taking a document back (13) is its sender's act; every other status is its receiver's.
            entitled = exchange.source_organ if status.status_code is StatusCode.TAKEN_BACK else exchange.agency_organ
            if sender != entitled:
                role = "sender" if status.status_code is StatusCode.TAKEN_BACK else "receiver"
                raise ConnectorError(
                    ErrorCode.SENDER_MISMATCH,
                    f"status {status.status_code.value} ({status.status_code.label}) comes from the document's {role} "
                    f"{entitled}, not from {sender}",
                    "package/MessageHeader/From/OrganId",
                )
            try:
                transition = next_state(exchange.state, status.status_code)
            except IllegalTransition as exc:
                raise ConnectorError(ErrorCode.ILLEGAL_TRANSITION, str(exc), "package/MessageHeader/StatusCode") from None
        with timings.stage("persist"):
            now = utcnow()
            receipt = self._receipt(request.message_id, "updateStatus", exchange, transition.new_state, accepted.digest, now)
            staff = status.staff.staff if status.staff else None
            event = StoredEvent(now, transition.new_state, f"{sender}/{staff or '-'}", status.status_code.value, accepted.digest,
                                status.description or status.status_code.label)
            # The other side hears about it: the agency's statuses go to the one-stop, and back.
            target_kind, target_organ = (
                (SystemKind.ONESTOP, exchange.source_organ) if sender == exchange.agency_organ else (SystemKind.DOCMGMT, exchange.agency_organ)
            )
            payload = {"exchange_id": exchange.exchange_id, "onestop_number": exchange.onestop_number,
                       "dossier_code": exchange.dossier_code, "document_id": exchange.document_id,
                       "status_code": status.status_code.value, "description": event.note, "at": status.timestamp.isoformat()}
            outbox = self._relay(target_organ, target_kind, request.message_id, "deliverStatus", payload, accepted.digest)
            message = self._message(request.message_id, "updateStatus", request_digest, exchange.exchange_id, receipt)
            return self._advance(exchange, event, accepted, message, outbox) or receipt

    # ---- getStatus --------------------------------------------------------------------
    def get_status(self, message_id: str | None = None, dossier_code: str | None = None) -> ExchangeView:
        exchange = None
        if message_id:
            stored = self.store.message(message_id)
            exchange = self.store.exchange(stored.exchange_id if stored else message_id)
        elif dossier_code:
            found = self.store.exchanges_for_dossier(dossier_code)
            exchange = found[0] if found else None
        else:
            raise ConnectorError(ErrorCode.SCHEMA_INVALID, "give messageId or dossierCode", "messageId")
        if exchange is None:
            raise ConnectorError(ErrorCode.UNKNOWN_DOCUMENT, f"no exchange for {'message id' if message_id else 'dossier'} "
                                 f"{message_id or dossier_code!r}", "messageId" if message_id else "dossierCode")
        files = [a.name for a in self.store.package_attachments(exchange.result_package_digest)] if exchange.result_package_digest else []
        return ExchangeView(exchange, self.store.timeline(exchange.exchange_id), files)

    # ---- pull -------------------------------------------------------------------------
    def _pull_system(self, system_id: str) -> None:
        system = self.store.system(system_id)
        if system is None:
            raise ConnectorError(ErrorCode.UNAUTHORIZED, f"system {system_id!r} is not registered with the connector", "systemId")

    def list_pending(self, system_id: str) -> list[OutboxItem]:
        self._pull_system(system_id)
        return [i for i in self.store.outbox_items(system_id=system_id) if i.state in ("pending", "fetched") and i.mode.value == "pull"]

    def fetch(self, system_id: str, item_id: int) -> PulledItem:
        item = self._pending_item(system_id, item_id)
        self.store.mark_fetched(item.item_id, utcnow())
        fetched = self._pending_item(system_id, item_id)  # as it is now: fetched
        return PulledItem(fetched, self.store.package_bytes(item.package_digest) if item.package_digest else None)

    def acknowledge(self, system_id: str, item_id: int, delivered: bool, reason: str | None) -> OutboxItem:
        item = self._pending_item(system_id, item_id)
        exchange = self.store.exchange(item.exchange_id)
        now = utcnow()
        event = None
        if delivered and exchange is not None:
            event = StoredEvent(now, exchange.state, system_id, None, item.package_digest,
                                f"{item.operation} fetched and acknowledged by {system_id}")
        if not self.store.acknowledge(item.item_id, system_id, delivered, reason, now, event):
            raise ConnectorError(ErrorCode.UNKNOWN_ITEM, f"item {item_id} is no longer pending for {system_id}", "itemId")
        acknowledged = self.store.outbox_item(item.item_id)
        assert acknowledged is not None  # it was updated a moment ago; items are never deleted
        return acknowledged

    def _pending_item(self, system_id: str, item_id: int) -> OutboxItem:
        self._pull_system(system_id)
        item = self.store.outbox_item(item_id)
        if item is None or item.system_id != system_id or item.mode.value != "pull" or item.state not in ("pending", "fetched"):
            raise ConnectorError(ErrorCode.UNKNOWN_ITEM, f"item {item_id} is not pending for system {system_id!r}", "itemId")
        return item
