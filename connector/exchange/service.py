"""The connector's operations, framework-free: the SOAP layer translates to and from these.

sendDocument and publishResult carry signed edXML document packages; updateStatus carries
status packages; getStatus reads the timeline; the pull operations (``connector/exchange/pull.py``,
``ExchangeService.pull``) serve systems that cannot host an endpoint. Every write operation is
idempotent by message id.
"""

from __future__ import annotations

import enum
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TypeVar

from connector.auth import Caller
from connector.clock import utcnow
from connector.edxml import BusinessDocType, DocumentPackage, ParseLimits, StatusCode, StatusPackage, ValidationSettings
from connector.errors import ConnectorError, ErrorCode
from connector.exchange.authorisation import (
    forbidden,
    is_party,
    require_connected,
    require_kind,
    require_own_organisation,
)
from connector.exchange.directory import DeliveryMode, SystemKind
from connector.exchange.pipeline import AcceptedPackage, StageTimings, accept_package
from connector.exchange.pull import PullQueue
from connector.exchange.receipts import Receipt, sign_receipt
from connector.exchange.requests import (
    ExchangeView,
    PublishResultRequest,
    SendDocumentRequest,
    SignedReceipt,
    UpdateStatusRequest,
)
from connector.exchange.routing import RoutingDecision, route
from connector.exchange.states import ExchangeState, IllegalTransition, can_amend, can_publish_result, next_state
from connector.store import (
    NewOutboxItem,
    OutboxOperation,
    ResultInfo,
    Store,
    StoreConflict,
    StoredEvent,
    StoredExchange,
    StoredMessage,
)
from signing import SigningIdentity, VerificationPolicy

P = TypeVar("P", DocumentPackage, StatusPackage)
_RACE_REREADS = (0.0, 0.01, 0.05, 0.2)  # seconds to wait before each read of a race's winner


class Operation(enum.StrEnum):
    """The write operations, as named in the contract, receipts and the idempotency record."""

    SEND_DOCUMENT = "sendDocument"
    PUBLISH_RESULT = "publishResult"
    UPDATE_STATUS = "updateStatus"


@dataclass(frozen=True)
class ServiceConfig:
    """What the operations check packages against, and the key they sign receipts with."""

    policy: VerificationPolicy
    """Trust anchors, algorithms, organisation-to-certificate map: see ``signing.VerificationPolicy``."""
    identity: SigningIdentity
    """The connector's own identity; signs every receipt."""
    validation: ValidationSettings = ValidationSettings()
    limits: ParseLimits = ParseLimits()


def _digest(operation: str, package_digest: str, metadata: object, caller: Caller) -> str:
    """What makes a request the same request: caller, operation, package and metadata (another
    system reusing a message id gets no receipt)."""
    h = hashlib.sha256(f"{caller.system_id}\n{operation}".encode())
    h.update(package_digest.encode())
    h.update(json.dumps(metadata, sort_keys=True, default=str).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class _Begun:
    """The preamble every write operation shares: the request's digests, and the original
    receipt when this message id was already answered with the same content."""

    operation: Operation
    message_id: str
    package_digest: str
    request_digest: str
    replay: SignedReceipt | None


def _exchange_of(
    request: SendDocumentRequest, package: DocumentPackage, decision: RoutingDecision, digest: str, at: datetime
) -> StoredExchange:
    """A new exchange, as sendDocument accepts it: the dossier's facts and where it was routed."""
    dossier = request.dossier
    return StoredExchange(
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
        package_digest=digest,
        created_at=at,
        updated_at=at,
    )


def _outbox_item(
    message_id: str,
    system_id: str,
    mode: DeliveryMode,
    operation: OutboxOperation,
    payload: dict[str, object],
    digest: str | None,
) -> NewOutboxItem:
    """One partner call to make; its message id is derived from the request's, so a retried
    delivery carries the same id every time."""
    body = json.dumps(payload, ensure_ascii=False, default=str)
    return NewOutboxItem(f"{message_id}:{operation.value}", system_id, mode, operation, body, digest)


class ExchangeService:
    """The connector's operations, independent of SOAP: each takes a request record and returns
    a signed receipt (or a view), or raises ``ConnectorError`` with a documented fault code.

    Contract of every write operation (``send_document``, ``publish_result``, ``update_status``):

    - **Idempotent by message id.** The same id with the same content returns the original
      receipt without doing anything again; the same id with other content is
      ``DUPLICATE_MESSAGE``.
    - **Only what was signed is used.** The package's signature is verified first, and every
      fact the operation acts on is read from the signed bytes (see ``pipeline.accept_package``).
    - **All or nothing.** The exchange, its package, the event, the idempotency record and the
      outbox items are stored in one transaction; a refused request changes nothing.
    """

    def __init__(self, store: Store, config: ServiceConfig) -> None:
        self.store = store
        self.config = config
        self.pull = PullQueue(store)
        """listPending, fetchPending and acknowledge (``connector/exchange/pull.py``)."""

    # ---- shared steps -----------------------------------------------------------------
    def _begin(self, operation: Operation, caller: Caller, message_id: str, package: bytes, metadata: object) -> _Begun:
        package_digest = hashlib.sha256(package).hexdigest()
        request_digest = _digest(operation.value, package_digest, metadata, caller)
        return _Begun(operation, message_id, package_digest, request_digest, self._replay(message_id, request_digest))

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

    def _replay_after_race(self, message_id: str, request_digest: str) -> SignedReceipt | None:
        """``_replay`` for a request that lost a race: the winner's commit caused the conflict,
        but on SQLite a fresh read has once been seen to miss it (one of 20 identical concurrent
        sends, in a full test run), so look again briefly before concluding that another
        message won."""
        for pause in _RACE_REREADS:
            time.sleep(pause)
            replay = self._replay(message_id, request_digest)
            if replay:
                return replay
        return None

    def _accept_as(self, kind: type[P], begun: _Begun, data: bytes, timings: StageTimings) -> tuple[AcceptedPackage, P]:
        """The pipeline's package stages, then the package kind the operation needs."""
        config = self.config
        accepted = accept_package(data, config.policy, config.validation, config.limits, timings, begun.package_digest)
        if not isinstance(accepted.package, kind):
            wanted = (
                "a status package (with StatusCode)"
                if kind is StatusPackage
                else "a document package, not a status package"
            )
            raise ConnectorError(ErrorCode.PACKAGE_INVALID, f"{begun.operation} needs {wanted}", "package")
        return accepted, accepted.package

    def _receipt(self, begun: _Begun, exchange: StoredExchange, state: ExchangeState, at: datetime) -> SignedReceipt:
        receipt = Receipt(
            message_id=begun.message_id,
            operation=begun.operation.value,
            exchange_id=exchange.exchange_id,
            accepted_at=at,
            state=state.value,
            document_id=exchange.document_id,
            package_digest=begun.package_digest,
            agency_id=exchange.agency_organ,
            queue=exchange.queue,
            target_account=exchange.target_account,
        )
        return SignedReceipt(receipt, sign_receipt(receipt, self.config.identity))

    def _message(self, begun: _Begun, exchange_id: str, receipt: SignedReceipt) -> StoredMessage:
        """The idempotency record: what a retry of this message id is compared with and answered by."""
        return StoredMessage(
            begun.message_id,
            begun.operation.value,
            begun.request_digest,
            exchange_id,
            receipt.signed,
            receipt.receipt.accepted_at,
        )

    def _relay(
        self, organ_id: str, kind: SystemKind, begun: _Begun, operation: OutboxOperation, payload: dict[str, object]
    ) -> list[NewOutboxItem]:
        """Tell the organisation's system of ``kind``, if it has one (the timeline keeps it anyway)."""
        system = self.store.system_for(organ_id, kind)
        if system is None:
            return []
        return [_outbox_item(begun.message_id, system.system_id, system.mode, operation, payload, begun.package_digest)]

    # ---- sendDocument -----------------------------------------------------------------
    def send_document(
        self, request: SendDocumentRequest, caller: Caller, timings: StageTimings | None = None
    ) -> SignedReceipt:
        """Accept a dossier's document from a one-stop system and route it to the handling agency's
        document-management system (its clerk's registration queue or an officer's drafts).

        The exchange id is the message id; the package's DocumentId may be sent only once. Only a
        one-stop system sends, for its own organisation, to agencies its directory entry lists."""
        timings = timings or StageTimings()
        require_kind(caller, SystemKind.ONESTOP, "sendDocument")
        metadata = {"kind": request.kind.value, "user": request.sender_username, "dossier": asdict(request.dossier)}
        begun = self._begin(Operation.SEND_DOCUMENT, caller, request.message_id, request.package, metadata)
        if begun.replay:
            return begun.replay
        accepted, package = self._accept_as(DocumentPackage, begun, request.package, timings)
        require_own_organisation(caller, package.sender.organ_id)
        doc_type = package.business.doc_type if package.business else BusinessDocType.NEW
        if doc_type in (BusinessDocType.UPDATE, BusinessDocType.REVOKE):
            return self._amend(begun, request, accepted, package, doc_type, timings)
        with timings.stage("route"):
            procedure = self.store.procedure(request.dossier.procedure_code)
            if procedure is not None:  # an unknown one is refused by routing, as before
                require_connected(caller, procedure.agency_id, procedure.code)
            replaced = self._replaced_by(package, caller) if doc_type is BusinessDocType.REPLACE else []
            if self.store.organization(package.sender.organ_id) is None:
                raise ConnectorError(
                    ErrorCode.UNKNOWN_ORGANIZATION,
                    f"sender {package.sender.organ_id!r} is not in the organisation directory",
                    "package/MessageHeader/From/OrganId",
                )
            existing = self.store.exchange_by_document_id(package.document_id)
            if existing is not None and existing.exchange_id == request.message_id:
                # This very message, accepted by a concurrent retry since ``_begin`` looked.
                replay = self._replay_after_race(request.message_id, begun.request_digest)
                if replay:
                    return replay
            if existing is not None:
                raise ConnectorError(
                    ErrorCode.DUPLICATE_MESSAGE,
                    f"DocumentId {package.document_id!r} was already sent as message {existing.exchange_id!r}",
                    "package/MessageHeader/DocumentId",
                )
            decision = route(
                self.store,
                request.dossier.procedure_code,
                request.kind,
                request.sender_username,
                [r.organ_id for r in package.recipients],
            )
        with timings.stage("persist"):
            now = utcnow()
            exchange = _exchange_of(request, package, decision, accepted.digest, now)
            receipt = self._receipt(begun, exchange, ExchangeState.ACCEPTED, now)
            payload = {
                "exchange_id": exchange.exchange_id,
                "kind": request.kind.value,
                "queue": decision.queue.value,
                "target_account": decision.target_account,
                "officer_account": decision.officer_account,
                "document_id": package.document_id,
                "code": str(package.code),
                "subject": package.subject,
                "dossier": asdict(request.dossier),
            }
            system = decision.system
            outbox = [
                _outbox_item(
                    request.message_id,
                    system.system_id,
                    system.mode,
                    OutboxOperation.DELIVER_DOCUMENT,
                    payload,
                    accepted.digest,
                )
            ]
            actor = f"{package.sender.organ_id}/{request.sender_username}"
            note = f"routed to {decision.agency_id} {decision.queue.value} queue of {decision.target_account}"
            if replaced:
                note += "; replaces " + ", ".join(
                    f"DocumentId {x.document_id} (exchange {x.exchange_id})" for x in replaced
                )
            replaced_note = f"replaced by DocumentId {package.document_id} (exchange {exchange.exchange_id})"
            linked = [
                (x.exchange_id, StoredEvent(now, x.state, actor, None, accepted.digest, replaced_note))
                for x in replaced
            ]
            try:
                self.store.create_exchange(
                    exchange,
                    accepted.blob(),
                    self._message(begun, exchange.exchange_id, receipt),
                    StoredEvent(now, ExchangeState.ACCEPTED, actor, None, accepted.digest, note),
                    outbox,
                    linked,
                )
            except StoreConflict:
                # A concurrent request with the same message id or DocumentId won the race.
                replay = self._replay_after_race(request.message_id, begun.request_digest)
                if replay:
                    return replay
                raise ConnectorError(
                    ErrorCode.DUPLICATE_MESSAGE, f"DocumentId {package.document_id!r} was sent concurrently", "package"
                ) from None
        return receipt

    # ---- the document lifecycle: update (2), revocation (1), replacement (3) -------------
    def _replaced_by(self, package: DocumentPackage, caller: Caller) -> list[StoredExchange]:
        """The exchanges a replacement (BussinessDocType 3) supersedes: every one must be known,
        and sent by the caller's organisation (another's is as unknown as a missing one)."""
        assert package.business is not None
        where = "package/MessageHeader/TraceHeaderList/Bussiness/ReplacementInfoList"
        ids = list(dict.fromkeys(r.document_id for r in package.business.replacements if r.document_id))
        if not ids:
            message = "a replacement (BussinessDocType 3) names what it replaces in ReplacementInfoList"
            raise ConnectorError(ErrorCode.PACKAGE_INVALID, message, where)
        replaced = []
        for document_id in ids:
            exchange = self.store.exchange_by_document_id(document_id)
            if exchange is None or exchange.source_organ != caller.organ_id:
                raise ConnectorError(
                    ErrorCode.UNKNOWN_DOCUMENT,
                    f"the replacement names DocumentId {document_id!r}, which was never sent through the connector",
                    where,
                )
            replaced.append(exchange)
        return replaced

    def _amend(
        self,
        begun: _Begun,
        request: SendDocumentRequest,
        accepted: AcceptedPackage,
        package: DocumentPackage,
        doc_type: BusinessDocType,
        timings: StageTimings,
    ) -> SignedReceipt:
        """An update (2) or revocation (1) of a document already sent: same DocumentId, new content.
        Recorded on the original exchange and relayed to the agency like the original; a
        revocation ends the exchange (``REVOKED``). The same amendment twice is a duplicate."""
        verb = "revocation" if doc_type is BusinessDocType.REVOKE else "update"
        with timings.stage("route"):
            original = self.store.exchange_by_document_id(package.document_id)
            # Only the document's sender amends it (the package's sender is the caller's own
            # organisation); another organisation's document is as unknown as a missing one.
            if original is None or package.sender.organ_id != original.source_organ:
                raise ConnectorError(
                    ErrorCode.UNKNOWN_DOCUMENT,
                    f"{verb} of DocumentId {package.document_id!r}, which was never sent through the connector",
                    "package/MessageHeader/DocumentId",
                )
            refusal = can_amend(original.state)
            if refusal:
                raise ConnectorError(ErrorCode.ILLEGAL_TRANSITION, f"cannot accept the {verb}: {refusal}", "package")
            if any(e.package_digest == accepted.digest for e in self.store.timeline(original.exchange_id)):
                raise ConnectorError(
                    ErrorCode.DUPLICATE_MESSAGE,
                    f"this {verb} of DocumentId {package.document_id!r} was already accepted",
                    "package/MessageHeader/DocumentId",
                )
        with timings.stage("persist"):
            now = utcnow()
            new_state = ExchangeState.REVOKED if doc_type is BusinessDocType.REVOKE else original.state
            receipt = self._receipt(begun, original, new_state, now)
            reason = package.business.reason if package.business and package.business.reason else verb
            actor = f"{package.sender.organ_id}/{request.sender_username}"
            note = f"{verb} (BussinessDocType {int(doc_type)}): {reason}"
            event = StoredEvent(now, new_state, actor, None, accepted.digest, note)
            outbox = self._relay_amendment(begun, original, package, doc_type, reason)
            message = self._message(begun, original.exchange_id, receipt)
            return self._advance(original, event, accepted, message, outbox) or receipt

    def _relay_amendment(
        self, begun: _Begun, original: StoredExchange, package: DocumentPackage, doc_type: BusinessDocType, reason: str
    ) -> list[NewOutboxItem]:
        """The amended package goes where the original went, under the original exchange id."""
        delivered = self.store.outbox_items(exchange_id=original.exchange_id)
        first = next((i for i in delivered if i.operation is OutboxOperation.DELIVER_DOCUMENT), None)
        if first is None:
            return []
        payload = json.loads(first.payload) | {
            "document_id": package.document_id,
            "code": str(package.code),
            "subject": package.subject,
            "business_doc_type": int(doc_type),
            "business_reason": reason,
        }
        operation = OutboxOperation.DELIVER_DOCUMENT
        return [_outbox_item(begun.message_id, first.system_id, first.mode, operation, payload, begun.package_digest)]

    # ---- publishResult ----------------------------------------------------------------
    def publish_result(
        self, request: PublishResultRequest, caller: Caller, timings: StageTimings | None = None
    ) -> SignedReceipt:
        """Accept the signed, issued result from the agency the exchange was routed to, finish the
        exchange, and relay the result to the one-stop system.

        The result names the original document in ``ResponseFor/DocumentId``; an exchange takes
        one result. Only a document-management system publishes, for its own organisation; an
        exchange routed to another agency is answered as unknown."""
        timings = timings or StageTimings()
        require_kind(caller, SystemKind.DOCMGMT, "publishResult")
        metadata = {"onestop": request.onestop_number, "issue": asdict(request.issue)}
        begun = self._begin(Operation.PUBLISH_RESULT, caller, request.message_id, request.package, metadata)
        if begun.replay:
            return begun.replay
        accepted, package = self._accept_as(DocumentPackage, begun, request.package, timings)
        with timings.stage("route"):
            require_own_organisation(caller, package.sender.organ_id)
            exchange = self._original_of(package, request.onestop_number, caller)
            if str(package.code) != request.issue.number_symbol:
                raise ConnectorError(
                    ErrorCode.PACKAGE_INVALID,
                    f"issue.numberSymbol {request.issue.number_symbol!r} differs from the package "
                    f"Code {str(package.code)!r}",
                    "issue.numberSymbol",
                )
            refusal = can_publish_result(exchange.state, exchange.result_document_id is not None)
            if refusal:
                raise ConnectorError(
                    ErrorCode.ILLEGAL_TRANSITION,
                    f"cannot publish a result: {refusal}",
                    "package/MessageHeader/ResponseFor",
                )
        with timings.stage("persist"):
            now = utcnow()
            receipt = self._receipt(begun, exchange, ExchangeState.FINISHED, now)
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
            outbox = self._relay(
                exchange.source_organ, SystemKind.ONESTOP, begun, OutboxOperation.DELIVER_RESULT, payload
            )
            result = ResultInfo(
                package.document_id,
                issue.number_symbol,
                datetime.combine(issue.issue_date, datetime.min.time()),
                issue.signer_name,
                issue.signer_position,
                issue.document_identifier,
                accepted.digest,
            )
            event = StoredEvent(
                now,
                ExchangeState.FINISHED,
                f"{package.sender.organ_id}/{issue.signer_name or '-'}",
                "06",
                accepted.digest,
                f"result {issue.number_symbol} issued {issue.issue_date:%Y/%m/%d}",
            )
            message = self._message(begun, exchange.exchange_id, receipt)
            return self._advance(exchange, event, accepted, message, outbox, result) or receipt

    def _original_of(self, package: DocumentPackage, onestop_number: str, caller: Caller) -> StoredExchange:
        ids = [r.document_id for r in package.response_for if r.document_id]
        if not ids:
            raise ConnectorError(
                ErrorCode.UNKNOWN_DOCUMENT,
                "the result package has no ResponseFor/DocumentId pointing at the original document",
                "package/MessageHeader/ResponseFor/DocumentId",
            )
        for document_id in ids:
            exchange = self.store.exchange_by_document_id(document_id)
            if exchange is not None and exchange.agency_organ == caller.organ_id:
                if exchange.onestop_number and exchange.onestop_number != onestop_number:
                    raise ConnectorError(
                        ErrorCode.UNKNOWN_DOCUMENT,
                        f"dossier number {onestop_number!r} does not match the exchange of DocumentId {document_id!r} "
                        f"(dossier number {exchange.onestop_number!r})",
                        "onestopNumber",
                    )
                return exchange
        raise ConnectorError(
            ErrorCode.UNKNOWN_DOCUMENT,
            f"no exchange for ResponseFor/DocumentId {', '.join(ids)}",
            "package/MessageHeader/ResponseFor/DocumentId",
        )

    def _advance(
        self,
        exchange: StoredExchange,
        event: StoredEvent,
        accepted: AcceptedPackage,
        message: StoredMessage,
        outbox: list[NewOutboxItem],
        result: ResultInfo | None = None,
    ) -> SignedReceipt | None:
        """Record the change; if a concurrent request got there first, answer as it would have:
        the same message (a client's retry racing itself) gets the original receipt."""
        try:
            moved = self.store.advance(
                exchange.exchange_id,
                exchange.state,
                event,
                accepted.blob(),
                message,
                outbox,
                result,
                exchange.updated_at,
            )
        except StoreConflict:
            moved = False
        if moved:
            return None
        replay = self._replay_after_race(message.message_id, message.request_digest)
        if replay:
            return replay
        raise ConnectorError(
            ErrorCode.ILLEGAL_TRANSITION,
            "the exchange changed state while this request was processed; read it with getStatus and retry",
            "messageId",
        )

    def _repeated(self, begun: _Begun, exchange: StoredExchange, code: StatusCode) -> SignedReceipt | None:
        """The very same status package again is a resend, not news: one state change, one event
        and one relay per package. Its own retry (same message id) gets the original receipt, even
        when it raced the original past the preamble; under another message id it is refused."""
        events = self.store.timeline(exchange.exchange_id)
        if not any(e.status_code == code.value and e.package_digest == begun.package_digest for e in events):
            return None
        replay = self._replay(begun.message_id, begun.request_digest)
        if replay:
            return replay
        raise ConnectorError(
            ErrorCode.DUPLICATE_MESSAGE,
            f"this status package ({code.value}) was already applied to exchange {exchange.exchange_id!r} "
            "under another message id",
            "messageId",
        )

    # ---- updateStatus -----------------------------------------------------------------
    def update_status(
        self, request: UpdateStatusRequest, caller: Caller, timings: StageTimings | None = None
    ) -> SignedReceipt:
        """Apply a status package (edXML StatusCode) to the exchange its ``ResponseFor/DocumentId``
        names, and relay it to the other side.

        Only the side entitled to a code may send it (the receiver, except 13 "taken back", which
        is the sender's), from that side's own system; an exchange the caller's organisation is not
        a party to is answered as unknown; illegal transitions are refused (``exchange.next_state``)."""
        timings = timings or StageTimings()
        begun = self._begin(Operation.UPDATE_STATUS, caller, request.message_id, request.package, {})
        if begun.replay:
            return begun.replay
        accepted, status = self._accept_as(StatusPackage, begun, request.package, timings)
        with timings.stage("route"):
            require_own_organisation(caller, status.sender.organ_id)
            document_id = status.response_for.document_id
            exchange = self.store.exchange_by_document_id(document_id or "")
            if exchange is None or not is_party(caller, exchange):
                raise ConnectorError(
                    ErrorCode.UNKNOWN_DOCUMENT,
                    f"no exchange for ResponseFor/DocumentId {document_id!r}",
                    "package/MessageHeader/ResponseFor/DocumentId",
                )
            sender = status.sender.organ_id
            # Taking a document back (13) is its sender's act; every other status is its receiver's.
            entitled = exchange.source_organ if status.status_code is StatusCode.TAKEN_BACK else exchange.agency_organ
            entitled_kind = SystemKind.ONESTOP if status.status_code is StatusCode.TAKEN_BACK else SystemKind.DOCMGMT
            if sender != entitled or caller.kind is not entitled_kind:
                role = "sender" if status.status_code is StatusCode.TAKEN_BACK else "receiver"
                raise forbidden(
                    f"status {status.status_code.value} ({status.status_code.label}) comes from the document's "
                    f"{role}'s {entitled_kind.value} system at {entitled}, not from {caller.system_id}",
                    "package/MessageHeader/StatusCode",
                )
            repeated = self._repeated(begun, exchange, status.status_code)
            if repeated:
                return repeated
            try:
                transition = next_state(exchange.state, status.status_code)
            except IllegalTransition as exc:
                raise ConnectorError(
                    ErrorCode.ILLEGAL_TRANSITION, str(exc), "package/MessageHeader/StatusCode"
                ) from None
        with timings.stage("persist"):
            now = utcnow()
            receipt = self._receipt(begun, exchange, transition.new_state, now)
            staff = status.staff.staff if status.staff else None
            event = StoredEvent(
                now,
                transition.new_state,
                f"{sender}/{staff or '-'}",
                status.status_code.value,
                accepted.digest,
                status.description or status.status_code.label,
            )
            # The other side hears about it: the agency's statuses go to the one-stop, and back.
            target_kind, target_organ = (
                (SystemKind.ONESTOP, exchange.source_organ)
                if sender == exchange.agency_organ
                else (SystemKind.DOCMGMT, exchange.agency_organ)
            )
            payload = {
                "exchange_id": exchange.exchange_id,
                "onestop_number": exchange.onestop_number,
                "dossier_code": exchange.dossier_code,
                "document_id": exchange.document_id,
                "status_code": status.status_code.value,
                "description": event.note,
                "at": status.timestamp.isoformat(),
            }
            outbox = self._relay(target_organ, target_kind, begun, OutboxOperation.DELIVER_STATUS, payload)
            message = self._message(begun, exchange.exchange_id, receipt)
            return self._advance(exchange, event, accepted, message, outbox) or receipt

    # ---- getStatus --------------------------------------------------------------------
    def get_status(
        self, caller: Caller, message_id: str | None = None, dossier_code: str | None = None
    ) -> ExchangeView:
        """An exchange and its timeline, by any message id of the exchange or by dossier code or
        one-stop number (the newest exchange of the dossier) – only of exchanges the caller's
        organisation is a party to; any other is answered as unknown."""
        exchange = None
        if message_id:
            stored = self.store.message(message_id)
            exchange = self.store.exchange(stored.exchange_id if stored else message_id)
        elif dossier_code:
            found = [x for x in self.store.exchanges_for_dossier(dossier_code) if is_party(caller, x)]
            exchange = found[0] if found else None
        else:
            raise ConnectorError(ErrorCode.SCHEMA_INVALID, "give messageId or dossierCode", "messageId")
        if exchange is None or not is_party(caller, exchange):
            raise ConnectorError(
                ErrorCode.UNKNOWN_DOCUMENT,
                f"no exchange for {'message id' if message_id else 'dossier'} {message_id or dossier_code!r}",
                "messageId" if message_id else "dossierCode",
            )
        files = (
            [a.name for a in self.store.package_attachments(exchange.result_package_digest)]
            if exchange.result_package_digest
            else []
        )
        return ExchangeView(exchange, self.store.timeline(exchange.exchange_id), files)
