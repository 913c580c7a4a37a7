"""SOAP 1.1 with the hardening spyne lacks: our hardened parser for the envelope (no DTD, no
entities, depth cap, huge base64 text only behind the size cap) and validation of the body
against ``schemas/connector.xsd``. Only spyne ``Fault``s leave here, never a plain-text 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from connector.auth.wsse import SECURITY
from connector.edxml import EdxmlError, ParseLimits, parse_xml
from connector.errors import ConnectorError, ErrorCode, StoreUnavailableError
from connector.ops.logs import ENVIRON_KEY, RequestContext
from connector.soap import envelope_rules as rules
from connector.soap import field_paths as paths
from connector.soap import leniency, streaming
from connector.soap.context import Bind
from connector.soap.faults import SOAP11_ENV, SOAP12_ENV, ConnectorFault, SoapVersion
from connector.soap.spyne_compat import Fault, Soap11

SOAP_ENV = rules.SOAP_ENV


class HardenedSoap11(Soap11):
    # --- legacy clients (issue 9): the envelope version this endpoint speaks; the XSD file
    # (for xsi:type leniency) and the namespace whose absence gets a hint; see leniency.py.
    version = SoapVersion.SOAP11
    schema_path: Path | None = None
    contract_namespace: str | None = None
    # ---

    def __init__(
        self,
        schema: etree.XMLSchema | None,
        limits: ParseLimits,
        bind: Bind | None = None,
        schema_path: Path | None = None,
        contract_namespace: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(validator=None, **kwargs)
        self.body_schema = schema
        self.limits = limits
        self.bind = bind  # None: nobody is authenticated (the partner simulators' endpoints)
        self.schema_path = schema_path
        self.contract_namespace = contract_namespace

    def create_in_document(self, ctx: Any, charset: str | None = None) -> None:
        method = ctx.transport.get_request_method() if hasattr(ctx.transport, "get_request_method") else "POST"
        if method != "POST":
            raise ConnectorFault(ErrorCode.SCHEMA_INVALID, "SOAP requests must be HTTP POST")
        data = b"".join(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8") for chunk in ctx.in_string)
        try:
            rules.check_encoding(data, getattr(ctx.transport, "req_env", {}).get("CONTENT_TYPE"))
            data = leniency.as_utf8(data)  # legacy clients: UTF-16 with a BOM (WS-I BP R1012)
            tree = parse_xml(data, self.limits)
        except EdxmlError as exc:
            raise ConnectorFault(exc.code, f"SOAP envelope: {exc.message}", paths.ENVELOPE) from None
        except ConnectorError as exc:
            raise ConnectorFault(exc.code, exc.message, exc.field) from None
        ctx.in_document = (tree.getroot(), {})

    def decompose_incoming_envelope(self, ctx: Any, message: Any = None) -> None:
        """A SOAP 1.1 envelope whose Body holds exactly one request element; spyne would
        otherwise trip over empty bodies, stray text or a Fault sent as a request."""
        envelope = ctx.in_document[0] if isinstance(ctx.in_document, tuple) else ctx.in_document
        SOAP_ENV = self.ns_soap_env  # noqa: N806 - this endpoint's envelope version (legacy clients: SOAP 1.2)
        self._check_version(envelope)
        if envelope.tag != f"{{{SOAP_ENV}}}Envelope":
            raise ConnectorFault(
                ErrorCode.SCHEMA_INVALID, f"not a SOAP envelope: the root element is {envelope.tag}", paths.ENVELOPE
            )
        headers = envelope.findall(f"{{{SOAP_ENV}}}Header/*")
        if self.bind is not None:
            # Before anything about the body is said: an anonymous caller learns nothing else.
            # The call's one context for the methods (connector.soap.context).
            try:
                ctx.udc = self.bind([h for h in headers if h.tag == SECURITY], ctx.transport.req_env)
            except StoreUnavailableError as exc:  # the caller gets the stable sentence; the log the detail
                request = ctx.transport.req_env.setdefault(ENVIRON_KEY, RequestContext())
                request.fault, request.detail = exc.code.value, exc.detail
                raise ConnectorFault(exc.code, exc.message) from None
            except ConnectorError as exc:
                raise ConnectorFault(exc.code, exc.message, exc.field) from None
        bodies = envelope.findall(f"{{{SOAP_ENV}}}Body")
        if len(bodies) != 1:
            raise ConnectorFault(
                ErrorCode.SCHEMA_INVALID, f"the envelope must have one Body, not {len(bodies)}", paths.BODY
            )
        body = bodies[0]
        try:
            rules.check_structure(envelope, body)
            # wsse:Security is understood when authentication is on: it was processed above.
            not_understood = [
                header
                for header in headers
                if rules.must_understand(header) and not (header.tag == SECURITY and self.bind is not None)
            ]
        except ConnectorError as exc:
            raise ConnectorFault(exc.code, exc.message, exc.field) from None
        requests = [child for child in body if isinstance(child.tag, str)]
        stray = (body.text or "").strip() or any((child.tail or "").strip() for child in body)
        if len(requests) != 1 or stray:
            raise ConnectorFault(
                ErrorCode.SCHEMA_INVALID, "the Body must hold exactly one request element and no text", paths.BODY
            )
        if requests[0].tag == f"{{{SOAP_ENV}}}Fault":
            raise ConnectorFault(ErrorCode.SCHEMA_INVALID, "a Fault is not a request", paths.BODY)
        # SOAP 1.1 §4.2.3: a header the receiver must understand but does not is a fault, never
        # silently ignored (spyne would ignore it – and a WS-Security header would mean nothing).
        if not_understood:
            raise ConnectorFault(
                ErrorCode.MUST_UNDERSTAND, f"header {not_understood[0].tag} is not understood here", paths.HEADER
            )
        self._check_request_namespace(requests[0])
        super().decompose_incoming_envelope(ctx, message if message is not None else self.REQUEST)

    # --- legacy clients (issue 9) ---
    def _check_version(self, envelope: etree._Element) -> None:
        """SOAP 1.1 section 4.1.2 / SOAP 1.2 appendix A: an ``Envelope`` in another namespace is a
        VersionMismatch fault, in this protocol's own version. The connector's HTTP layer hands
        each envelope of SOAP 1.1 or 1.2 to the protocol of its version (``envelope_version``),
        so there only envelopes that are neither get here; a protocol driven alone (the partner
        simulators) also refuses the other version."""
        tag = etree.QName(envelope)
        if tag.localname != "Envelope" or tag.namespace == self.ns_soap_env:
            return
        other = SOAP12_ENV if self.version is SoapVersion.SOAP11 else SOAP11_ENV
        if tag.namespace == other:
            address = "/soap12" if other == SOAP12_ENV else "/soap"
            hint = f"send it to {address}, the WSDL's other port"
        else:
            hint = f"send a SOAP 1.1 ({SOAP11_ENV}) or SOAP 1.2 ({SOAP12_ENV}) envelope"
        raise ConnectorFault(
            ErrorCode.VERSION_MISMATCH,
            f"this endpoint speaks {self.version.label}; the envelope is in namespace {tag.namespace} ({hint})",
            paths.ENVELOPE,
        )

    def _check_request_namespace(self, request: etree._Element) -> None:
        """The request element in no or another namespace: say which one is expected (spyne
        would only say that the operation does not exist)."""
        if self.contract_namespace and etree.QName(request).namespace != self.contract_namespace:
            raise ConnectorFault(
                ErrorCode.SCHEMA_INVALID, leniency.namespace_hint(request, self.contract_namespace), paths.BODY
            )

    # ---

    def deserialize(self, ctx: Any, message: Any) -> None:
        """Whatever spyne cannot turn into the request's values is the caller's error, with
        one of our codes (spyne's own, such as Client.ValidationError, are not in our table)."""
        try:
            super().deserialize(ctx, message)
        except ConnectorFault:
            raise
        except Fault as fault:
            raise ConnectorFault(ErrorCode.SCHEMA_INVALID, f"{fault.faultstring}", paths.BODY) from None
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            raise ConnectorFault(ErrorCode.SCHEMA_INVALID, f"a value cannot be read: {exc}", paths.BODY) from None

    def byte_array_from_element(self, ctx: Any, cls: Any, element: etree._Element) -> tuple[bytes]:
        """base64Binary fields decoded strictly (spyne's decoder drops what is not base64); a
        large request's package was decoded while its body was read (``streaming``)."""
        hollowed = getattr(ctx.transport, "req_env", {}).get(streaming.ENVIRON_KEY)
        if hollowed is not None and element.text == hollowed.marker:
            return (hollowed.data,)
        try:
            return (rules.strict_base64(element),)
        except ConnectorError as exc:
            raise ConnectorFault(exc.code, exc.message, exc.field) from None

    def validate_document(self, payload: etree._Element) -> None:
        if self.body_schema is None or payload is None:
            return
        if self.schema_path is not None:  # legacy clients: xsi:type="xsd:string" and the like
            leniency.drop_builtin_xsi_types(payload, self.schema_path)
        if not self.body_schema.validate(payload):
            error = self.body_schema.error_log.last_error
            foreign = leniency.foreign_element(payload, self.contract_namespace) if self.contract_namespace else None
            if foreign is not None:  # legacy clients: show the expected namespace
                where = paths.element_path(foreign)
                hint = leniency.namespace_hint(foreign, self.contract_namespace)
                raise ConnectorFault(ErrorCode.SCHEMA_INVALID, f"{where}: {hint}", where)
            # libxml2 gives the node's XPath - anonymous (*/*[3]) for elements in a default
            # namespace - so the element it finds is named by its ancestors' real names; zeep
            # sends one-line envelopes, so lines say little.
            field = paths.schema_error_path(payload, error.path)
            message = error.message.replace("{urn:vn:lienthong:connector:1}", "")
            raise ConnectorFault(ErrorCode.SCHEMA_INVALID, f"{field or f'line {error.line}'}: {message}", field)


class HardenedSoap12(HardenedSoap11):
    """The same hardening for the SOAP 1.2 port (legacy clients: WCF, gSOAP defaults)."""

    version = SoapVersion.SOAP12
    ns_soap_env = SOAP12_ENV
    soap_env = "soap12env"
    mime_type = SoapVersion.SOAP12.content_type
