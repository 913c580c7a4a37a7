"""The steps every write operation shares: the idempotency preamble, the package stages, the
signed receipt, the idempotency record, relays to partners and the compare-and-set advance.

The operations themselves live beside this module, one per concern: ``send`` (sendDocument),
``lifecycle`` (updates, revocations and replacements of a document already sent), ``publish``
(publishResult) and ``status`` (updateStatus, getStatus); ``service.ExchangeService`` is their
one entry point.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from connector.auth.caller import Caller
from connector.edxml import DocumentPackage, ParseLimits, StatusCode, StatusPackage, ValidationSettings
from connector.errors import ConnectorError, ErrorCode
from connector.exchange.directory import DeliveryMode, SystemKind
from connector.exchange.pipeline import AcceptedPackage, StageTimings, accept_package
from connector.exchange.receipts import Receipt, sign_receipt
from connector.exchange.requests import SignedReceipt
from connector.exchange.states import ExchangeState
from connector.store import (
    NewOutboxItem,
    OutboxOperation,
    ResultInfo,
    Store,
    StoreConflictError,
    StoredEvent,
    StoredExchange,
    StoredMessage,
)
from signing import SigningIdentity, VerificationPolicy

P = TypeVar("P", DocumentPackage, StatusPackage)


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


def request_digest(operation: str, package_digest: str, metadata: object, caller: Caller) -> str:
    """What makes a request the same request: caller, operation, package and metadata (another
    system reusing a message id gets no receipt)."""
    h = hashlib.sha256(f"{caller.system_id}\n{operation}".encode())
    h.update(package_digest.encode())
    h.update(json.dumps(metadata, sort_keys=True, default=str).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class Begun:
    """The preamble every write operation shares: the request's digests, and the original
    receipt when this message id was already answered with the same content."""

    operation: Operation
    message_id: str
    package_digest: str
    request_digest: str
    replay: SignedReceipt | None


def outbox_item(
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


class Steps:
    """The shared steps, bound to the store and the service's configuration."""

    def __init__(self, store: Store, config: ServiceConfig) -> None:
        self.store = store
        self.config = config

    def begin(self, operation: Operation, caller: Caller, message_id: str, package: bytes, metadata: object) -> Begun:
        package_digest = hashlib.sha256(package).hexdigest()
        digest = request_digest(operation.value, package_digest, metadata, caller)
        return Begun(operation, message_id, package_digest, digest, self.replay(message_id, digest))

    def replay(self, message_id: str, request_digest: str, after_conflict: bool = False) -> SignedReceipt | None:
        """Same id, same content: the original receipt. Same id, other content: a fault.
        ``after_conflict``: this request lost a race, so the winner's record is read the way the
        store reads a conflict's winner (``Store.message_after_conflict``)."""
        stored = self.store.message_after_conflict(message_id) if after_conflict else self.store.message(message_id)
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

    def accept_as(self, kind: type[P], begun: Begun, data: bytes, timings: StageTimings) -> tuple[AcceptedPackage, P]:
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

    def receipt(self, begun: Begun, exchange: StoredExchange, state: ExchangeState, at: datetime) -> SignedReceipt:
        # The head before this request's own records (they are appended with the receipt's hash,
        # so the receipt cannot name them): a witness of the chain up to there.
        chain_seq, chain_sha256 = self.store.evidence.head()
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
            chain_seq=chain_seq,
            chain_sha256=chain_sha256,
        )
        return SignedReceipt(receipt, sign_receipt(receipt, self.config.identity))

    @staticmethod
    def message(begun: Begun, exchange_id: str, receipt: SignedReceipt) -> StoredMessage:
        """The idempotency record: what a retry of this message id is compared with and answered by."""
        return StoredMessage(
            begun.message_id,
            begun.operation.value,
            begun.request_digest,
            exchange_id,
            receipt.signed,
            receipt.receipt.accepted_at,
        )

    def relay(
        self, organ_id: str, kind: SystemKind, begun: Begun, operation: OutboxOperation, payload: dict[str, object]
    ) -> list[NewOutboxItem]:
        """Tell the organisation's system of ``kind``, if it has one (the timeline keeps it anyway)."""
        system = self.store.system_for(organ_id, kind)
        if system is None:
            return []
        return [outbox_item(begun.message_id, system.system_id, system.mode, operation, payload, begun.package_digest)]

    def advance(
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
        except StoreConflictError:
            moved = False
        if moved:
            return None
        replay = self.replay(message.message_id, message.request_digest, after_conflict=True)
        if replay:
            return replay
        raise ConnectorError(
            ErrorCode.ILLEGAL_TRANSITION,
            "the exchange changed state while this request was processed; read it with getStatus and retry",
            "messageId",
        )

    def repeated(self, begun: Begun, exchange: StoredExchange, code: StatusCode) -> SignedReceipt | None:
        """The very same status package again is a resend, not news: one state change, one event
        and one relay per package. Its own retry (same message id) gets the original receipt, even
        when it raced the original past the preamble; under another message id it is refused."""
        events = self.store.timeline(exchange.exchange_id)
        if not any(e.status_code == code.value and e.package_digest == begun.package_digest for e in events):
            return None
        replay = self.replay(begun.message_id, begun.request_digest)
        if replay:
            return replay
        raise ConnectorError(
            ErrorCode.DUPLICATE_MESSAGE,
            f"this status package ({code.value}) was already applied to exchange {exchange.exchange_id!r} "
            "under another message id",
            "messageId",
        )
