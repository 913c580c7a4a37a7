"""updateStatus (a status package applied to its exchange and relayed to the other side) and
getStatus (an exchange and its timeline)."""

from __future__ import annotations

from connector.auth.caller import Caller
from connector.clock import utcnow
from connector.edxml import StatusCode, StatusPackage
from connector.errors import ConnectorError, ErrorCode
from connector.exchange.authorisation import forbidden, is_party, require_own_organisation
from connector.exchange.directory import SystemKind
from connector.exchange.pipeline import StageTimings
from connector.exchange.requests import ExchangeView, SignedReceipt, UpdateStatusRequest
from connector.exchange.states import ExchangeState, IllegalTransitionError, next_state, state_before_recall
from connector.exchange.steps import Operation, Steps
from connector.store import OutboxOperation, StoredEvent


def update_status(
    steps: Steps, request: UpdateStatusRequest, caller: Caller, timings: StageTimings | None = None
) -> SignedReceipt:
    """Apply a status package (edXML StatusCode) to the exchange its ``ResponseFor/DocumentId``
    names, and relay it to the other side.

    Only the side entitled to a code may send it (the receiver, except 13 "taken back", which
    is the sender's), from that side's own system; an exchange the caller's organisation is not
    a party to is answered as unknown; illegal transitions are refused (``exchange.next_state``)."""
    timings = timings or StageTimings()
    begun = steps.begin(Operation.UPDATE_STATUS, caller, request.message_id, request.package, {})
    if begun.replay:
        return begun.replay
    accepted, status = steps.accept_as(StatusPackage, begun, request.package, timings)
    with timings.stage("route"):
        require_own_organisation(caller, status.sender.organ_id, steps.store.organization)
        document_id = status.response_for.document_id
        exchange = steps.store.exchange_by_document_id(document_id or "")
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
        repeated = steps.repeated(begun, exchange, status.status_code)
        if repeated:
            return repeated
        try:
            before = None
            if exchange.state == ExchangeState.TAKEN_BACK:  # a 16 returns to where the recall found it
                states = [ExchangeState(e.state) for e in steps.store.timeline(exchange.exchange_id)]
                before = state_before_recall(states)
            transition = next_state(exchange.state, status.status_code, before)
        except IllegalTransitionError as exc:
            raise ConnectorError(ErrorCode.ILLEGAL_TRANSITION, str(exc), "package/MessageHeader/StatusCode") from None
    with timings.stage("persist"):
        now = utcnow()
        receipt = steps.receipt(begun, exchange, transition.new_state, now)
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
        outbox = steps.relay(target_organ, target_kind, begun, OutboxOperation.DELIVER_STATUS, payload)
        message = steps.message(begun, exchange.exchange_id, receipt)
        return steps.advance(exchange, event, accepted, message, outbox) or receipt


def get_status(
    steps: Steps, caller: Caller, message_id: str | None = None, dossier_code: str | None = None
) -> ExchangeView:
    """An exchange and its timeline, by any message id of the exchange or by dossier code or
    one-stop number (the newest exchange of the dossier) – only of exchanges the caller's
    organisation is a party to; any other is answered as unknown."""
    exchange = None
    if message_id:
        stored = steps.store.message(message_id)
        exchange = steps.store.exchange(stored.exchange_id if stored else message_id)
    elif dossier_code:
        found = [x for x in steps.store.exchanges_for_dossier(dossier_code) if is_party(caller, x)]
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
        [a.name for a in steps.store.package_attachments(exchange.result_package_digest)]
        if exchange.result_package_digest
        else []
    )
    return ExchangeView(exchange, steps.store.timeline(exchange.exchange_id), files)
