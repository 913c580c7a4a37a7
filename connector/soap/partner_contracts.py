"""The partner contracts, as Spyne models: the operations the connector calls on a
document-management system (``wsdl/partner-docmgmt.wsdl``) and on a one-stop system
(``wsdl/partner-onestop.wsdl``). The simulators implement them; real partners implement the
WSDLs. Every call carries the connector's message id, the same on every retry, so partners can
de-duplicate.
"""

from __future__ import annotations

from connector.soap.models import (
    Code100,
    Dossier,
    Identifier,
    MessageId,
    Name200,
    Text2000,
    Username,
    optional,
    required,
)
from connector.soap.spyne_compat import ByteArray, ComplexModel, Date, DateTime, Unicode

DOCMGMT_NS = "urn:vn:lienthong:partner:docmgmt:1"
ONESTOP_NS = "urn:vn:lienthong:partner:onestop:1"


class Accepted(ComplexModel):
    """The partner's answer: its own reference for what it took (e.g. the registration id)."""

    __namespace__ = DOCMGMT_NS
    _type_info = [
        ("reference", required(Unicode)),
        ("duplicate", required(Unicode)),  # "true" when the message id was seen before
    ]


class OnestopAccepted(ComplexModel):
    __namespace__ = ONESTOP_NS
    __type_name__ = "Accepted"
    _type_info = [
        ("reference", required(Unicode)),
        ("duplicate", required(Unicode)),
    ]


class DocumentDelivery(ComplexModel):
    """deliverDocument: a dossier's document into a queue (INCOMING) or an officer's drafts."""

    __namespace__ = DOCMGMT_NS
    _type_info = [
        ("messageId", required(MessageId)),
        ("exchangeId", required(MessageId)),
        ("kind", required(Unicode)),  # INCOMING | OUTGOING
        ("queue", required(Unicode)),  # registration | drafts
        ("targetAccount", required(Username)),
        ("officerAccount", required(Username)),
        ("documentId", required(Identifier)),
        ("code", optional(Code100)),
        ("subject", required(Text2000)),
        ("dossierCode", required(Identifier)),
        ("onestopNumber", optional(Code100)),
        ("procedureCode", required(Code100)),
        ("procedureName", optional(Text2000)),
        ("officerOpinion", optional(Text2000)),
        ("package", required(ByteArray)),  # the signed edXML package as received
    ]


class StatusDelivery(ComplexModel):
    """deliverStatus: a status reported by the other side of the exchange."""

    __namespace__ = DOCMGMT_NS
    _type_info = [
        ("messageId", required(MessageId)),
        ("exchangeId", required(MessageId)),
        ("documentId", required(Identifier)),
        ("dossierCode", required(Identifier)),
        ("onestopNumber", optional(Code100)),
        ("statusCode", required(Unicode)),
        ("description", optional(Text2000)),
        ("at", required(DateTime)),
        ("package", required(ByteArray)),  # the signed edXML status package
    ]


class OnestopStatusDelivery(ComplexModel):
    __namespace__ = ONESTOP_NS
    __type_name__ = "StatusDelivery"
    _type_info = StatusDelivery._type_info


class ResultDelivery(ComplexModel):
    """deliverResult: the issued, signed result file for a dossier (Tệp tin kết quả)."""

    __namespace__ = ONESTOP_NS
    _type_info = [
        ("messageId", required(MessageId)),
        ("exchangeId", required(MessageId)),
        ("onestopNumber", required(Code100)),
        ("dossierCode", required(Identifier)),
        ("documentId", required(Identifier)),
        ("numberSymbol", required(Code100)),
        ("issueDate", required(Date)),
        ("signerName", optional(Name200)),
        ("signerPosition", optional(Name200)),
        ("documentIdentifier", optional(Identifier)),
        ("package", required(ByteArray)),  # the signed edXML result package with the file
    ]


__all__ = [
    "DOCMGMT_NS",
    "ONESTOP_NS",
    "Accepted",
    "OnestopAccepted",
    "DocumentDelivery",
    "StatusDelivery",
    "OnestopStatusDelivery",
    "ResultDelivery",
    "Dossier",
]
