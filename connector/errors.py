"""Every error the connector reports, as one table.

Each ``ErrorCode`` is the documented code a SOAP caller reads from the fault's typed detail
(``<detail><tns:ConnectorFault><tns:code>``); ``docs/contract.md`` is generated from this table
by ``python -m connector faults --markdown``. The fault's ``faultcode`` is the standard SOAP code
the documented one starts with (WS-I Basic Profile R1031): ``Client`` for every ``Client.*`` -
the request must change -, ``Server`` for every ``Server.*`` - the same request may succeed
later -, and SOAP's own ``MustUnderstand`` and ``VersionMismatch``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class FaultSpec:
    when: str
    action: str


class ErrorCode(enum.StrEnum):
    # --- the request or package bytes ---
    TOO_LARGE = "Client.TooLarge"
    MALFORMED_XML = "Client.MalformedXml"
    FORBIDDEN_XML = "Client.ForbiddenXml"
    UNSUPPORTED_ENCODING = "Client.UnsupportedEncoding"
    SCHEMA_INVALID = "Client.SchemaInvalid"
    MUST_UNDERSTAND = "MustUnderstand"  # SOAP's own code
    VERSION_MISMATCH = "VersionMismatch"  # SOAP's own code
    # --- the edXML package ---
    NOT_EDXML = "Client.NotEdxml"
    PACKAGE_INVALID = "Client.PackageInvalid"
    ATTACHMENT_INVALID = "Client.AttachmentInvalid"
    MANIFEST_MISMATCH = "Client.ManifestMismatch"
    # --- signatures and senders ---
    SIGNATURE_INVALID = "Client.SignatureInvalid"
    SENDER_MISMATCH = "Client.SenderMismatch"
    # --- routing and directories ---
    UNKNOWN_ORGANIZATION = "Client.UnknownOrganization"
    UNKNOWN_ACCOUNT = "Client.UnknownAccount"
    UNKNOWN_PROCEDURE = "Client.UnknownProcedure"
    INTERCONNECTION_DISABLED = "Client.InterconnectionDisabled"
    # --- the exchange ---
    DUPLICATE_MESSAGE = "Client.DuplicateMessage"
    UNKNOWN_DOCUMENT = "Client.UnknownDocument"
    ILLEGAL_TRANSITION = "Client.IllegalTransition"
    UNKNOWN_ITEM = "Client.UnknownItem"
    # --- callers (connector/auth, docs/security.md) ---
    UNAUTHENTICATED = "Client.Unauthenticated"
    FORBIDDEN = "Client.Forbidden"
    # --- ours ---
    STORE_UNAVAILABLE = "Server.StoreUnavailable"
    BUSY = "Server.Busy"
    INTERNAL = "Server.Internal"

    @property
    def spec(self) -> FaultSpec:
        return FAULTS[self]


FAULTS: dict[ErrorCode, FaultSpec] = {
    ErrorCode.TOO_LARGE: FaultSpec(
        "The request or package is larger than the configured limit.",
        "Send smaller files, or ask the operator to raise the limit.",
    ),
    ErrorCode.MALFORMED_XML: FaultSpec(
        "The bytes are not well-formed XML (the message gives line and column).",
        "Fix the generator of the XML; resend.",
    ),
    ErrorCode.FORBIDDEN_XML: FaultSpec(
        "The XML carries a DOCTYPE, entity declarations, nesting deeper than allowed, or more "
        "attributes than allowed (64 on one element, 100,000 in all; the message names the element).",
        "Remove the DTD/entities and the surplus attributes; such input is never accepted.",
    ),
    ErrorCode.UNSUPPORTED_ENCODING: FaultSpec(
        "The SOAP envelope is in an encoding other than UTF-8 or UTF-16 (XML declaration, byte order "
        "mark or the Content-Type charset), or the envelope's or the package's XML declaration names "
        "another encoding than its byte order mark (a UTF-16 BOM with encoding='UTF-8', say).",
        "Send the envelope as UTF-8 (or UTF-16), declared as what it is; Vietnamese text needs no other encoding.",
    ),
    ErrorCode.SCHEMA_INVALID: FaultSpec(
        "The SOAP body or the package breaks its XSD (the message names the element and line).",
        "Correct the named element against schemas/; resend.",
    ),
    ErrorCode.MUST_UNDERSTAND: FaultSpec(
        'A SOAP header marked mustUnderstand="1" that the connector does not process (it processes wsse:Security).',
        "Remove the header or its mustUnderstand; authenticate with wsse:Security (docs/security.md).",
    ),
    ErrorCode.VERSION_MISMATCH: FaultSpec(
        "The envelope is neither SOAP 1.1 nor SOAP 1.2 (its Envelope element is in another namespace). Either "
        "version is accepted on both /soap and /soap12 and answered in the version of the request.",
        "Send a SOAP 1.1 or SOAP 1.2 envelope; generate the client from /soap?wsdl or /soap12?wsdl.",
    ),
    ErrorCode.NOT_EDXML: FaultSpec(
        "The package is not edXML (wrong root element or namespace, or no edXMLEnvelope).",
        "Send an edXML package in namespace http://www.mic.gov.vn/TBT/QCVN_102_2016.",
    ),
    ErrorCode.PACKAGE_INVALID: FaultSpec(
        "A package field is missing or wrong: a required element, a date, a code, an OrganId, "
        "a promulgation date in the future; a comment or processing instruction inside edXMLHeader; "
        "an attachment's ZIP (or a .docx/.odt... inside it) whose local headers disagree with its "
        "central directory, with data between or around its entries, or with duplicate, absolute, "
        "backslash or '..' entry names (the message names the attachment and the entry).",
        "Correct the named field; resend with the same message id.",
    ),
    ErrorCode.ATTACHMENT_INVALID: FaultSpec(
        "An attachment cannot be decoded (bad base64, broken or oversized ZIP, a file name with path components).",
        "Re-encode the file as base64 of a ZIP holding one file with a plain name.",
    ),
    ErrorCode.MANIFEST_MISMATCH: FaultSpec(
        "The manifest and the attachments disagree (missing, extra or duplicate ContentIds).",
        "Make edXMLManifest/Reference and AttachmentEncoded/Attachment list the same ContentIds.",
    ),
    ErrorCode.SIGNATURE_INVALID: FaultSpec(
        "The package is unsigned, or its XML signature fails the trust policy (the message "
        "gives the reason: tampered, untrusted, expired, revoked, algorithm not allowed...).",
        "Sign the package with the organisation's registered certificate; do not modify it after.",
    ),
    ErrorCode.SENDER_MISMATCH: FaultSpec(
        "The certificate that signed the package belongs to another organisation than MessageHeader/From/OrganId.",
        "Sign with the sending organisation's own certificate.",
    ),
    ErrorCode.UNKNOWN_ORGANIZATION: FaultSpec(
        "An OrganId (sender or recipient) is not in the organisation directory.",
        "Ask the operator to register the organisation, or fix the OrganId.",
    ),
    ErrorCode.UNKNOWN_ACCOUNT: FaultSpec(
        "The officer's username has no account in the document-management system (the message "
        "names the username and the system).",
        "Align the usernames or add a username mapping (python -m connector directory import).",
    ),
    ErrorCode.UNKNOWN_PROCEDURE: FaultSpec(
        "The procedure (TTHC) code is not in the procedure catalogue.",
        "Fix the procedure code or import the catalogue entry.",
    ),
    ErrorCode.INTERCONNECTION_DISABLED: FaultSpec(
        "The procedure exists but its workflow does not use the interconnection.",
        "Enable interconnection for the procedure in the catalogue, or handle it by hand.",
    ),
    ErrorCode.DUPLICATE_MESSAGE: FaultSpec(
        "The message id was already used with different content, or the package's DocumentId "
        "was already sent under another message id.",
        "Use a new message id for a new message (and a new DocumentId for a new document); resend "
        "the original request unchanged to get its receipt again.",
    ),
    ErrorCode.UNKNOWN_DOCUMENT: FaultSpec(
        "A result or status refers to a document or dossier the connector never received.",
        "Check ResponseFor/DocumentId and the dossier number.",
    ),
    ErrorCode.ILLEGAL_TRANSITION: FaultSpec(
        "The status is not a legal next state of the exchange (e.g. 'arrived' after 'finished').",
        "Read the timeline with getStatus; send only legal transitions.",
    ),
    ErrorCode.UNKNOWN_ITEM: FaultSpec(
        "A pull fetch or acknowledgement names an item that is not pending for the caller.",
        "List pending items again; acknowledge only what you fetched.",
    ),
    ErrorCode.UNAUTHENTICATED: FaultSpec(
        "The call carries no valid credentials: no or a wrong WS-Security UsernameToken, a Created time "
        "outside the window, a reused Nonce, PasswordText or HTTP Basic over plain HTTP, an unmapped client "
        "certificate, or too many failed attempts. It never says whether a username exists.",
        "Authenticate as your system (docs/security.md): UsernameToken PasswordDigest, or HTTP Basic or a "
        "client certificate over TLS; ask the operator for credentials (python -m connector credentials set).",
    ),
    ErrorCode.FORBIDDEN: FaultSpec(
        "The caller is authenticated but may not do this: a package signed for another organisation, an "
        "operation for the other kind of system, a systemId other than the caller's, or a procedure or "
        "agency the caller's directory entry does not connect it to. Items of other parties are answered "
        "as unknown, never as forbidden.",
        "Act only for your own organisation and system; ask the operator to connect your system to the agency.",
    ),
    ErrorCode.STORE_UNAVAILABLE: FaultSpec(
        "The exchange store could not be reached or the transaction failed; nothing was stored.",
        "Retry later with the same message id.",
    ),
    ErrorCode.BUSY: FaultSpec(
        "The connector is already processing as many large requests as its memory budget allows "
        "(answered at once; nothing was read into memory or stored).",
        "Retry the same request later (with backoff), with the same message id.",
    ),
    ErrorCode.INTERNAL: FaultSpec(
        "An unexpected error; nothing was stored. The log has the details.",
        "Retry later with the same message id; report it if it persists.",
    ),
}


class ConnectorError(Exception):
    """The root of every error the connector raises: a documented ``code`` (what a SOAP caller
    reads in the fault's detail), a ``message`` and the ``field`` it concerns when there is one.

    A refused request raises it directly with its code. Every other kind of error is a subclass
    (``SimpleError`` and its family below and in the packages): its class says which code it maps
    to, so the SOAP fault mapping reads ``error.code`` and nothing else. ``Server.Internal`` ones
    reach a caller only as the generic "internal error" (their message goes to the log).
    """

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class SimpleError(ConnectorError):
    """A ``ConnectorError`` that carries only a message; its code is its class's ``code``
    (configuration, keys, the schema, the command line, ...: ``Server.Internal``)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(type(self).code, message)


STORE_UNAVAILABLE_MESSAGE = (
    "the exchange store is unavailable; nothing was stored. Retry later with the same message id."
)


class StoreUnavailableError(ConnectorError):
    """The database could not be reached or written. Callers read only a stable sentence (and the
    request id the HTTP layer adds); ``detail`` – the driver's words, with host names and ports –
    is for the log and for readiness, never for a fault."""

    code = ErrorCode.STORE_UNAVAILABLE

    def __init__(self, detail: str, message: str = STORE_UNAVAILABLE_MESSAGE) -> None:
        super().__init__(ErrorCode.STORE_UNAVAILABLE, message)
        self.detail = " ".join(detail.split())
