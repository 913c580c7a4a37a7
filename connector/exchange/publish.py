"""publishResult: the signed, issued result from the agency an exchange was routed to, which
finishes the exchange and is relayed to the one-stop system."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from connector.auth.caller import Caller
from connector.clock import utcnow
from connector.edxml import DocumentPackage
from connector.errors import ConnectorError, ErrorCode
from connector.exchange.authorisation import require_kind, require_own_organisation
from connector.exchange.directory import SystemKind
from connector.exchange.pipeline import StageTimings
from connector.exchange.requests import PublishResultRequest, SignedReceipt
from connector.exchange.states import ExchangeState, can_publish_result
from connector.exchange.steps import Operation, Steps
from connector.store import OutboxOperation, ResultInfo, StoredEvent, StoredExchange


def publish_result(
    steps: Steps, request: PublishResultRequest, caller: Caller, timings: StageTimings | None = None
) -> SignedReceipt:
    """Accept the signed, issued result from the agency the exchange was routed to, finish the
    exchange, and relay the result to the one-stop system.

    The result names the original document in ``ResponseFor/DocumentId``; an exchange takes
    one result. Only a document-management system publishes, for its own organisation; an
    exchange routed to another agency is answered as unknown."""
    timings = timings or StageTimings()
    require_kind(caller, SystemKind.DOCMGMT, "publishResult")
    metadata = {"onestop": request.onestop_number, "issue": asdict(request.issue)}
    begun = steps.begin(Operation.PUBLISH_RESULT, caller, request.message_id, request.package, metadata)
    if begun.replay:
        return begun.replay
    accepted, package = steps.accept_as(DocumentPackage, begun, request.package, timings)
    with timings.stage("route"):
        require_own_organisation(caller, package.sender.organ_id, steps.store.organization)
        exchange = original_of(steps, package, request.onestop_number, caller)
        if str(package.code) != request.issue.number_symbol:
            raise ConnectorError(
                ErrorCode.PACKAGE_INVALID,
                f"issue/numberSymbol {request.issue.number_symbol!r} differs from the package "
                f"Code {str(package.code)!r}",
                "issue/numberSymbol",
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
        receipt = steps.receipt(begun, exchange, ExchangeState.FINISHED, now)
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
        outbox = steps.relay(exchange.source_organ, SystemKind.ONESTOP, begun, OutboxOperation.DELIVER_RESULT, payload)
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
        message = steps.message(begun, exchange.exchange_id, receipt)
        return steps.advance(exchange, event, accepted, message, outbox, result) or receipt


def original_of(steps: Steps, package: DocumentPackage, onestop_number: str, caller: Caller) -> StoredExchange:
    ids = [r.document_id for r in package.response_for if r.document_id]
    if not ids:
        raise ConnectorError(
            ErrorCode.UNKNOWN_DOCUMENT,
            "the result package has no ResponseFor/DocumentId pointing at the original document",
            "package/MessageHeader/ResponseFor/DocumentId",
        )
    for document_id in ids:
        exchange = steps.store.exchange_by_document_id(document_id)
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
