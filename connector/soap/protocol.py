"""SOAP 1.1 with the hardening spyne lacks: our hardened parser for the envelope (no DTD, no
entities, depth cap, huge base64 text only behind the size cap) and validation of the body
against ``schemas/connector.xsd``. Only spyne ``Fault``s leave here, never a plain-text 500."""

from __future__ import annotations

from typing import Any

from lxml import etree

from connector.edxml import EdxmlError, ParseLimits
from connector.edxml.safexml import parse_xml
from connector.errors import ErrorCode
from connector.soap.service import ConnectorFault
from connector.soap.spyne_compat import Soap11


class HardenedSoap11(Soap11):
    def __init__(self, schema: etree.XMLSchema | None, limits: ParseLimits, **kwargs: Any) -> None:
        super().__init__(validator=None, **kwargs)
        self.body_schema = schema
        self.limits = limits

    def create_in_document(self, ctx: Any, charset: str | None = None) -> None:
        method = ctx.transport.get_request_method() if hasattr(ctx.transport, "get_request_method") else "POST"
        if method != "POST":
            raise ConnectorFault(ErrorCode.SCHEMA_INVALID, "SOAP requests must be HTTP POST", "http")
        data = b"".join(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8") for chunk in ctx.in_string)
        try:
            tree = parse_xml(data, self.limits)
        except EdxmlError as exc:
            raise ConnectorFault(exc.code, f"SOAP envelope: {exc.message}", "envelope") from None
        ctx.in_document = (tree.getroot(), {})

    def validate_document(self, payload: etree._Element) -> None:
        if self.body_schema is None or payload is None:
            return
        if not self.body_schema.validate(payload):
            error = self.body_schema.error_log.last_error
            # libxml2 gives the node's XPath; zeep sends one-line envelopes, so lines say little.
            where = _readable_path(error.path) if error.path else f"line {error.line}"
            message = error.message.replace("{urn:vn:lienthong:connector:1}", "")
            raise ConnectorFault(ErrorCode.SCHEMA_INVALID, f"{where}: {message}", where)


def _readable_path(xpath: str) -> str:
    """'/soap11env:Envelope/soap11env:Body/tns:sendDocument/tns:dossier' → 'sendDocument/dossier'."""
    steps = [step.split(":")[-1] for step in xpath.strip("/").split("/")]
    return "/".join(steps[2:] if len(steps) > 2 and steps[1] == "Body" else steps)
