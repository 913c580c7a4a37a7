"""A document already sent, changed by its sender: an update (BussinessDocType 2), a revocation
(1) or a replacement (3, which names the documents it supersedes)."""

from __future__ import annotations

import json

from connector.auth.caller import Caller
from connector.clock import utcnow
from connector.edxml import BusinessDocType, DocumentPackage
from connector.errors import ConnectorError, ErrorCode
from connector.exchange.pipeline import AcceptedPackage, StageTimings
from connector.exchange.requests import SendDocumentRequest, SignedReceipt
from connector.exchange.states import ExchangeState, can_amend
from connector.exchange.steps import Begun, Steps, outbox_item
from connector.store import NewOutboxItem, OutboxOperation, StoredEvent, StoredExchange


def replaced_by(steps: Steps, package: DocumentPackage, caller: Caller) -> list[StoredExchange]:
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
        exchange = steps.store.exchange_by_document_id(document_id)
        if exchange is None or exchange.source_organ != caller.organ_id:
            raise ConnectorError(
                ErrorCode.UNKNOWN_DOCUMENT,
                f"the replacement names DocumentId {document_id!r}, which was never sent through the connector",
                where,
            )
        replaced.append(exchange)
    return replaced


def amend(
    steps: Steps,
    begun: Begun,
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
        original = steps.store.exchange_by_document_id(package.document_id)
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
        if any(e.package_digest == accepted.digest for e in steps.store.timeline(original.exchange_id)):
            raise ConnectorError(
                ErrorCode.DUPLICATE_MESSAGE,
                f"this {verb} of DocumentId {package.document_id!r} was already accepted",
                "package/MessageHeader/DocumentId",
            )
    with timings.stage("persist"):
        now = utcnow()
        new_state = ExchangeState.REVOKED if doc_type is BusinessDocType.REVOKE else original.state
        receipt = steps.receipt(begun, original, new_state, now)
        reason = package.business.reason if package.business and package.business.reason else verb
        actor = f"{package.sender.organ_id}/{request.sender_username}"
        note = f"{verb} (BussinessDocType {int(doc_type)}): {reason}"
        event = StoredEvent(now, new_state, actor, None, accepted.digest, note)
        outbox = relay_amendment(steps, begun, original, package, doc_type, reason)
        message = steps.message(begun, original.exchange_id, receipt)
        return steps.advance(original, event, accepted, message, outbox) or receipt


def relay_amendment(
    steps: Steps,
    begun: Begun,
    original: StoredExchange,
    package: DocumentPackage,
    doc_type: BusinessDocType,
    reason: str,
) -> list[NewOutboxItem]:
    """The amended package goes where the original went, under the original exchange id."""
    delivered = steps.store.outbox_items(exchange_id=original.exchange_id)
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
    return [outbox_item(begun.message_id, first.system_id, first.mode, operation, payload, begun.package_digest)]
