"""The SOAP message types (namespace ``urn:vn:lienthong:connector:1``).

They mirror ``schemas/connector.xsd`` – the contract integrators read – and a test checks that
the WSDL spyne serves matches ``wsdl/connector.wsdl`` in operations, messages and types.
"""

from __future__ import annotations

from connector.soap.spyne_compat import Array, ByteArray, ComplexModel, Date, DateTime, Integer, Unicode, spyne

TNS = "urn:vn:lienthong:connector:1"


def required(kind, **kwargs):  # noqa: ANN001, ANN201 - spyne type factory
    return kind.customize(min_occurs=1, nillable=False, **kwargs)


def optional(kind, **kwargs):  # noqa: ANN001, ANN201
    return kind.customize(min_occurs=0, nillable=False, **kwargs)


# Named simple types, so the published schema reads like a contract rather than generated names.
MessageId = Unicode(min_len=1, max_len=100, type_name="MessageId", __namespace__=TNS)
Username = Unicode(min_len=1, max_len=100, type_name="Username", __namespace__=TNS)
SystemId = Unicode(min_len=1, max_len=100, type_name="SystemId", __namespace__=TNS)
Code100 = Unicode(min_len=1, max_len=100, type_name="Code", __namespace__=TNS)
Name200 = Unicode(max_len=200, type_name="Name", __namespace__=TNS)
Text500 = Unicode(max_len=500, type_name="Text500", __namespace__=TNS)
Text2000 = Unicode(max_len=2000, type_name="Text2000", __namespace__=TNS)
Identifier = Unicode(min_len=1, max_len=255, type_name="Identifier", __namespace__=TNS)
# Named, or spyne calls the list's items "string" (a C# keyword; see tests/soap/keywords.py).
FileName = Unicode(max_len=255, type_name="fileName", __namespace__=TNS)

DocumentKind = spyne.model.enum.Enum("INCOMING", "OUTGOING", type_name="DocumentKind", __namespace__=TNS)
AckOutcome = spyne.model.enum.Enum("DONE", "FAIL", type_name="AckOutcome", __namespace__=TNS)


class Model(ComplexModel):
    __namespace__ = TNS


class Dossier(Model):
    _type_info = [
        ("dossierCode", required(Identifier)),
        ("procedureCode", required(Code100)),
        ("onestopNumber", optional(Code100)),
        ("procedureName", optional(Text500)),
        ("applicant", optional(Name200)),
        ("receivedAt", optional(DateTime)),
        ("dueDate", optional(Date)),
        ("officerOpinion", optional(Text2000)),
    ]


class Issue(Model):
    _type_info = [
        ("numberSymbol", required(Code100)),
        ("issueDate", required(Date)),
        ("signerName", optional(Name200)),
        ("signerPosition", optional(Name200)),
        ("documentIdentifier", optional(Identifier)),
    ]


class Routing(Model):
    _type_info = [
        ("agencyId", required(Unicode)),
        ("queue", required(Unicode)),
        ("targetAccount", required(Unicode)),
    ]


class Receipt(Model):
    _type_info = [
        ("messageId", required(Unicode)),
        ("operation", required(Unicode)),
        ("exchangeId", required(Unicode)),
        ("acceptedAt", required(DateTime)),
        ("state", required(Unicode)),
        ("documentId", required(Unicode)),
        ("packageDigest", required(Unicode)),
        ("routing", required(Routing)),
        ("signedReceipt", required(ByteArray)),
    ]


class TimelineEvent(Model):
    _type_info = [
        ("at", required(DateTime)),
        ("state", required(Unicode)),
        ("statusCode", optional(Unicode)),
        ("actor", required(Unicode)),
        ("packageDigest", optional(Unicode)),
        ("note", optional(Unicode)),
    ]


class Result(Model):
    _type_info = [
        ("numberSymbol", required(Unicode)),
        ("documentId", required(Unicode)),
        ("issueDate", optional(Date)),
        ("signerName", optional(Unicode)),
        ("signerPosition", optional(Unicode)),
        ("documentIdentifier", optional(Unicode)),
        ("packageDigest", required(Unicode)),
        ("files", optional(Array(FileName))),
    ]


class ExchangeStatus(Model):
    _type_info = [
        ("exchangeId", required(Unicode)),
        ("kind", required(DocumentKind)),
        ("state", required(Unicode)),
        ("documentId", required(Unicode)),
        ("dossierCode", required(Unicode)),
        ("onestopNumber", optional(Unicode)),
        ("procedureCode", required(Unicode)),
        ("agencyId", required(Unicode)),
        ("queue", required(Unicode)),
        ("targetAccount", required(Unicode)),
        ("timeline", required(Array(TimelineEvent))),
        ("result", optional(Result)),
    ]


class PendingItem(Model):
    _type_info = [
        ("itemId", required(Integer)),
        ("messageId", required(Unicode)),
        ("operation", required(Unicode)),
        ("exchangeId", required(Unicode)),
        ("createdAt", required(DateTime)),
        ("state", required(Unicode)),
    ]


class FetchedItem(Model):
    _type_info = [
        ("item", required(PendingItem)),
        ("metadata", required(Unicode)),  # JSON object: routing and dossier/issue/status fields
        ("edxmlPackage", optional(ByteArray)),
    ]
