"""The Spyne service: thin adapters from SOAP messages to ``connector.exchange.service.ExchangeService``.

Each operation converts its arguments to the domain request, calls the service and converts the
answer back; every ``ConnectorError`` becomes a SOAP fault whose code is the documented one.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from connector.errors import ConnectorError, ErrorCode, StoreUnavailableError
from connector.exchange.pipeline import StageTimings
from connector.exchange.requests import (
    DossierInfo,
    IssueInfo,
    PublishResultRequest,
    SendDocumentRequest,
    SignedReceipt,
    UpdateStatusRequest,
)
from connector.exchange.states import DocumentKind
from connector.ops.logs import ENVIRON_KEY, RequestContext
from connector.soap import models
from connector.soap.context import CallContext
from connector.soap.faults import ConnectorFault, FaultDetail, as_connector_fault
from connector.soap.field_paths import request_field
from connector.soap.models import optional, required
from connector.soap.spyne_compat import Array, ByteArray, Fault, Integer, ServiceBase, binary, rpc

# Every operation belongs to the one port type the WSDL declares, and declares the typed fault.
operation = functools.partial(rpc, _port_type="ConnectorPort", _throws=[FaultDetail])


def _request(ctx: Any) -> RequestContext:
    """The HTTP layer's context for this request (a fresh one when spyne is driven without it)."""
    environ = ctx.transport.req_env
    return environ.setdefault(ENVIRON_KEY, RequestContext())


def _timings(ctx: Any) -> StageTimings:
    return _request(ctx).timings


def _receipt(signed: SignedReceipt) -> models.Receipt:
    r = signed.receipt
    return models.Receipt(
        messageId=r.message_id,
        operation=r.operation,
        exchangeId=r.exchange_id,
        acceptedAt=r.accepted_at,
        state=r.state,
        documentId=r.document_id,
        packageDigest=r.package_digest,
        routing=models.Routing(agencyId=r.agency_id, queue=r.queue, targetAccount=r.target_account),
        signedReceipt=[signed.signed],
    )


MessageId = required(models.MessageId)
Package = required(ByteArray)
SystemId = required(models.SystemId)


class ConnectorService(ServiceBase):
    __service_name__ = "ConnectorService"
    __port_types__ = ["ConnectorPort"]

    @classmethod
    def call_wrapper(cls, ctx: Any, *args: Any, **kwargs: Any) -> Any:
        """Map domain errors to SOAP faults; anything unexpected becomes Server.Internal. The
        request's context (``connector.ops.logs``) learns the operation, message id and fault; the
        HTTP layer writes the one log line per request from it."""
        request = _request(ctx)
        request.operation = ctx.descriptor.name
        request.message_id = getattr(ctx.in_object, "messageId", None)
        try:
            return super().call_wrapper(ctx, *args, **kwargs)
        except StoreUnavailableError as exc:  # the caller gets the stable sentence; the log the detail
            request.fault, request.detail = exc.code.value, exc.detail
            raise ConnectorFault(exc.code, exc.message) from None
        except ConnectorError as exc:
            if exc.code is ErrorCode.INTERNAL:  # not the caller's business: the log has it
                request.fault, request.exc_info = exc.code.value, sys.exc_info()
                raise ConnectorFault(ErrorCode.INTERNAL, "internal error; nothing was stored") from None
            request.fault = exc.code.value
            raise ConnectorFault(exc.code, exc.message, request_field(ctx.descriptor.name, exc.field)) from None
        except Fault as fault:
            request.fault = as_connector_fault(fault).code.value
            raise
        except Exception:
            request.fault, request.exc_info = ErrorCode.INTERNAL.value, sys.exc_info()
            raise ConnectorFault(ErrorCode.INTERNAL, "internal error; nothing was stored") from None

    @operation(
        MessageId,
        Package,
        required(models.DocumentKind),
        required(models.Username),
        required(models.Dossier),
        _returns=models.Receipt,
        _out_variable_name="receipt",
    )
    def sendDocument(ctx, messageId, edxmlPackage, kind, senderUsername, dossier):  # noqa: N802, N803
        call = CallContext.of(ctx)
        request = SendDocumentRequest(
            message_id=messageId,
            package=binary(edxmlPackage),
            kind=DocumentKind(str(kind)),
            sender_username=senderUsername,
            dossier=DossierInfo(
                dossier_code=dossier.dossierCode,
                procedure_code=dossier.procedureCode,
                onestop_number=dossier.onestopNumber,
                procedure_name=dossier.procedureName,
                applicant=dossier.applicant,
                received_at=dossier.receivedAt,
                due_date=dossier.dueDate,
                officer_opinion=dossier.officerOpinion,
            ),
        )
        return _receipt(call.service.send_document(request, call.caller, _timings(ctx)))

    @operation(
        MessageId,
        Package,
        required(models.Code100),
        required(models.Issue),
        _returns=models.Receipt,
        _out_variable_name="receipt",
    )
    def publishResult(ctx, messageId, edxmlPackage, onestopNumber, issue):  # noqa: N802, N803
        call = CallContext.of(ctx)
        request = PublishResultRequest(
            message_id=messageId,
            package=binary(edxmlPackage),
            onestop_number=onestopNumber,
            issue=IssueInfo(
                issue.numberSymbol, issue.issueDate, issue.signerName, issue.signerPosition, issue.documentIdentifier
            ),
        )
        return _receipt(call.service.publish_result(request, call.caller, _timings(ctx)))

    @operation(MessageId, Package, _returns=models.Receipt, _out_variable_name="receipt")
    def updateStatus(ctx, messageId, edxmlPackage):  # noqa: N802, N803
        call = CallContext.of(ctx)
        return _receipt(
            call.service.update_status(UpdateStatusRequest(messageId, binary(edxmlPackage)), call.caller, _timings(ctx))
        )

    @operation(
        optional(models.MessageId),
        optional(models.Identifier),
        _returns=models.ExchangeStatus,
        _out_variable_name="exchange",
    )
    def getStatus(ctx, messageId, dossierCode):  # noqa: N802, N803
        call = CallContext.of(ctx)
        view = call.service.get_status(call.caller, messageId, dossierCode)
        exchange = view.exchange
        result = None
        if exchange.result_document_id:
            result = models.Result(
                numberSymbol=exchange.result_code,
                documentId=exchange.result_document_id,
                issueDate=exchange.result_issue_date.date() if exchange.result_issue_date else None,
                signerName=exchange.result_signer,
                signerPosition=exchange.result_position,
                documentIdentifier=exchange.result_identifier,
                packageDigest=exchange.result_package_digest,
                files=view.result_files,
            )
        return models.ExchangeStatus(
            exchangeId=exchange.exchange_id,
            kind=exchange.kind.value,
            state=exchange.state.value,
            documentId=exchange.document_id,
            dossierCode=exchange.dossier_code,
            onestopNumber=exchange.onestop_number,
            procedureCode=exchange.procedure_code,
            agencyId=exchange.agency_organ,
            queue=exchange.queue,
            targetAccount=exchange.target_account,
            timeline=[
                models.TimelineEvent(
                    at=e.at,
                    state=e.state.value,
                    statusCode=e.status_code,
                    actor=e.actor,
                    packageDigest=e.package_digest,
                    note=e.note,
                )
                for e in view.timeline
            ],
            result=result,
        )

    @operation(SystemId, _returns=Array(models.PendingItem), _out_variable_name="items")
    def listPending(ctx, systemId):  # noqa: N802, N803
        call = CallContext.of(ctx)
        return [_pending(i) for i in call.service.pull.list_pending(call.caller, systemId)]

    @operation(SystemId, required(Integer), _returns=models.FetchedItem, _out_variable_name="fetched")
    def fetchPending(ctx, systemId, itemId):  # noqa: N802, N803
        call = CallContext.of(ctx)
        pulled = call.service.pull.fetch(call.caller, systemId, itemId)
        return models.FetchedItem(
            item=_pending(pulled.item),
            metadata=pulled.item.payload,
            edxmlPackage=[pulled.package] if pulled.package is not None else None,
        )

    @operation(
        SystemId,
        required(Integer),
        required(models.AckOutcome),
        optional(models.Text2000),
        _returns=models.PendingItem,
        _out_variable_name="item",
    )
    def acknowledge(ctx, systemId, itemId, outcome, reason):  # noqa: N803
        call = CallContext.of(ctx)
        return _pending(call.service.pull.acknowledge(call.caller, systemId, itemId, str(outcome) == "DONE", reason))


def _pending(item: Any) -> models.PendingItem:
    return models.PendingItem(
        itemId=item.item_id,
        messageId=item.message_id,
        operation=item.operation,
        exchangeId=item.exchange_id,
        createdAt=item.created_at,
        state=item.state,
    )
