"""sendDocument: a dossier's document from a one-stop system into an agency's
document-management system (its clerk's registration queue or an officer's drafts)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from connector.auth.caller import Caller
from connector.clock import utcnow
from connector.edxml import BusinessDocType, DocumentPackage
from connector.errors import ConnectorError, ErrorCode
from connector.exchange.authorisation import require_connected, require_kind, require_own_organisation
from connector.exchange.directory import SystemKind
from connector.exchange.lifecycle import amend, replaced_by
from connector.exchange.pipeline import StageTimings
from connector.exchange.requests import SendDocumentRequest, SignedReceipt
from connector.exchange.routing import RoutingDecision, route
from connector.exchange.states import ExchangeState
from connector.exchange.steps import Operation, Steps, outbox_item
from connector.store import OutboxOperation, StoreConflictError, StoredEvent, StoredExchange


def exchange_of(
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


def send_document(
    steps: Steps, request: SendDocumentRequest, caller: Caller, timings: StageTimings | None = None
) -> SignedReceipt:
    """Accept a dossier's document from a one-stop system and route it to the handling agency's
    document-management system (its clerk's registration queue or an officer's drafts).

    The exchange id is the message id; the package's DocumentId may be sent only once. Only a
    one-stop system sends, for its own organisation, to agencies its directory entry lists."""
    timings = timings or StageTimings()
    require_kind(caller, SystemKind.ONESTOP, "sendDocument")
    metadata = {"kind": request.kind.value, "user": request.sender_username, "dossier": asdict(request.dossier)}
    begun = steps.begin(Operation.SEND_DOCUMENT, caller, request.message_id, request.package, metadata)
    if begun.replay:
        return begun.replay
    accepted, package = steps.accept_as(DocumentPackage, begun, request.package, timings)
    require_own_organisation(caller, package.sender.organ_id, steps.store.organization)
    doc_type = package.business.doc_type if package.business else BusinessDocType.NEW
    if doc_type in (BusinessDocType.UPDATE, BusinessDocType.REVOKE):
        return amend(steps, begun, request, accepted, package, doc_type, timings)
    with timings.stage("route"):
        procedure = steps.store.procedure(request.dossier.procedure_code)
        if procedure is not None:  # an unknown one is refused by routing, as before
            require_connected(caller, procedure.agency_id, procedure.code)
        replaced = replaced_by(steps, package, caller) if doc_type is BusinessDocType.REPLACE else []
        if steps.store.organization(package.sender.organ_id) is None:
            raise ConnectorError(
                ErrorCode.UNKNOWN_ORGANIZATION,
                f"sender {package.sender.organ_id!r} is not in the organisation directory",
                "package/MessageHeader/From/OrganId",
            )
        existing = steps.store.exchange_by_document_id(package.document_id)
        if existing is not None and existing.exchange_id == request.message_id:
            # This very message, accepted by a concurrent retry since ``_begin`` looked.
            replay = steps.replay(request.message_id, begun.request_digest, after_conflict=True)
            if replay:
                return replay
        if existing is not None:
            raise ConnectorError(
                ErrorCode.DUPLICATE_MESSAGE,
                f"DocumentId {package.document_id!r} was already sent as message {existing.exchange_id!r}",
                "package/MessageHeader/DocumentId",
            )
        decision = route(
            steps.store,
            request.dossier.procedure_code,
            request.kind,
            request.sender_username,
            [r.organ_id for r in package.recipients],
        )
    with timings.stage("persist"):
        now = utcnow()
        exchange = exchange_of(request, package, decision, accepted.digest, now)
        receipt = steps.receipt(begun, exchange, ExchangeState.ACCEPTED, now)
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
            outbox_item(
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
            (x.exchange_id, StoredEvent(now, x.state, actor, None, accepted.digest, replaced_note)) for x in replaced
        ]
        try:
            steps.store.create_exchange(
                exchange,
                accepted.blob(),
                steps.message(begun, exchange.exchange_id, receipt),
                StoredEvent(now, ExchangeState.ACCEPTED, actor, None, accepted.digest, note),
                outbox,
                linked,
            )
        except StoreConflictError:
            # A concurrent request with the same message id or DocumentId won the race.
            replay = steps.replay(request.message_id, begun.request_digest, after_conflict=True)
            if replay:
                return replay
            raise ConnectorError(
                ErrorCode.DUPLICATE_MESSAGE, f"DocumentId {package.document_id!r} was sent concurrently", "package"
            ) from None
    return receipt
