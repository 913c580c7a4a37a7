"""The Spyne service: thin adapters from SOAP messages to ``connector.service.ExchangeService``.

Each operation converts its arguments to the domain request, calls the service and converts the
answer back; every ``ConnectorError`` becomes a SOAP fault whose code is the documented one.
"""

from __future__ import annotations

import logging
from typing import Any

from connector.errors import ConnectorError, ErrorCode
from connector.exchange import DocumentKind as Kind
from connector.service import (
    DossierInfo,
    ExchangeService,
    IssueInfo,
    PublishResultRequest,
    SendDocumentRequest,
    SignedReceipt,
    UpdateStatusRequest,
)
from connector.soap import models as m
from connector.soap.models import TNS, optional, required
from connector.soap.spyne_compat import Array, ByteArray, Fault, Integer, ServiceBase, binary, rpc

log = logging.getLogger(__name__)


class ConnectorFault(Fault):
    """A documented fault: ``faultcode`` is an ``ErrorCode`` value, ``detail`` names the field."""

    __namespace__ = TNS

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        detail = {"code": code.value, "field": field} if field else {"code": code.value}
        super().__init__(faultcode=code.value, faultstring=message, detail=detail)


def _service(ctx: Any) -> ExchangeService:
    return ctx.app.exchange_service


def _receipt(signed: SignedReceipt) -> m.Receipt:
    r = signed.receipt
    return m.Receipt(
        messageId=r.message_id,
        operation=r.operation,
        exchangeId=r.exchange_id,
        acceptedAt=r.accepted_at,
        state=r.state,
        documentId=r.document_id,
        packageDigest=r.package_digest,
        routing=m.Routing(agencyId=r.agency_id, queue=r.queue, targetAccount=r.target_account),
        signedReceipt=[signed.signed],
    )


MessageId = required(m.MessageId)
Package = required(ByteArray)
SystemId = required(m.SystemId)


class ConnectorService(ServiceBase):
    __service_name__ = "ConnectorService"
    __port_types__ = ["ConnectorPort"]

    @classmethod
    def call_wrapper(cls, ctx: Any, *args: Any, **kwargs: Any) -> Any:
        """Map domain errors to SOAP faults; anything unexpected becomes Server.Internal (logged)."""
        try:
            return super().call_wrapper(ctx, *args, **kwargs)
        except ConnectorError as exc:
            raise ConnectorFault(exc.code, exc.message, exc.field) from None
        except Fault:
            raise
        except Exception:
            log.exception("unexpected error in %s", ctx.method_request_string)
            raise ConnectorFault(ErrorCode.INTERNAL, "internal error; nothing was stored") from None

    @rpc(MessageId, Package, required(m.DocumentKind), required(m.Username), required(m.Dossier),
         _returns=m.Receipt, _out_variable_name="receipt", _port_type="ConnectorPort")
    def sendDocument(ctx, messageId, package, kind, senderUsername, dossier):  # noqa: N802, N803
        request = SendDocumentRequest(
            message_id=messageId,
            package=binary(package),
            kind=Kind(str(kind)),
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
        return _receipt(_service(ctx).send_document(request))

    @rpc(MessageId, Package, required(m.Code100), required(m.Issue),
         _returns=m.Receipt, _out_variable_name="receipt", _port_type="ConnectorPort")
    def publishResult(ctx, messageId, package, onestopNumber, issue):  # noqa: N802, N803
        request = PublishResultRequest(
            message_id=messageId,
            package=binary(package),
            onestop_number=onestopNumber,
            issue=IssueInfo(issue.numberSymbol, issue.issueDate, issue.signerName, issue.signerPosition, issue.documentIdentifier),
        )
        return _receipt(_service(ctx).publish_result(request))

    @rpc(MessageId, Package, _returns=m.Receipt, _out_variable_name="receipt", _port_type="ConnectorPort")
    def updateStatus(ctx, messageId, package):  # noqa: N802, N803
        return _receipt(_service(ctx).update_status(UpdateStatusRequest(messageId, binary(package))))

    @rpc(optional(m.MessageId), optional(m.Identifier),
         _returns=m.ExchangeStatus, _out_variable_name="exchange", _port_type="ConnectorPort")
    def getStatus(ctx, messageId, dossierCode):  # noqa: N802, N803
        view = _service(ctx).get_status(messageId, dossierCode)
        x = view.exchange
        result = None
        if x.result_document_id:
            result = m.Result(
                numberSymbol=x.result_code,
                documentId=x.result_document_id,
                issueDate=x.result_issue_date.date() if x.result_issue_date else None,
                signerName=x.result_signer,
                signerPosition=x.result_position,
                documentIdentifier=x.result_identifier,
                packageDigest=x.result_package_digest,
                files=view.result_files,
            )
        return m.ExchangeStatus(
            exchangeId=x.exchange_id,
            kind=x.kind.value,
            state=x.state.value,
            documentId=x.document_id,
            dossierCode=x.dossier_code,
            onestopNumber=x.onestop_number,
            procedureCode=x.procedure_code,
            agencyId=x.agency_organ,
            queue=x.queue,
            targetAccount=x.target_account,
            timeline=[
                m.TimelineEvent(at=e.at, state=e.state.value, statusCode=e.status_code, actor=e.actor,
                                packageDigest=e.package_digest, note=e.note)
                for e in view.timeline
            ],
            result=result,
        )

    @rpc(SystemId, _returns=Array(m.PendingItem), _out_variable_name="items", _port_type="ConnectorPort")
    def listPending(ctx, systemId):  # noqa: N802, N803
        return [_pending(i) for i in _service(ctx).list_pending(systemId)]

    @rpc(SystemId, required(Integer), _returns=m.FetchedItem, _out_variable_name="fetched", _port_type="ConnectorPort")
    def fetchPending(ctx, systemId, itemId):  # noqa: N802, N803
        pulled = _service(ctx).fetch(systemId, itemId)
        return m.FetchedItem(
            item=_pending(pulled.item),
            metadata=pulled.item.payload,
            package=[pulled.package] if pulled.package is not None else None,
        )

    @rpc(SystemId, required(Integer), required(m.AckOutcome), optional(m.Text2000),
         _returns=m.PendingItem, _out_variable_name="item", _port_type="ConnectorPort")
    def acknowledge(ctx, systemId, itemId, outcome, reason):  # noqa: N803
        return _pending(_service(ctx).acknowledge(systemId, itemId, str(outcome) == "DONE", reason))


def _pending(item: Any) -> m.PendingItem:
    return m.PendingItem(
        itemId=item.item_id,
        messageId=item.message_id,
        operation=item.operation,
        exchangeId=item.exchange_id,
        createdAt=item.created_at,
        state=item.state,
    )


