"""SOAP 1.1 faults written without spyne: for refusals made before spyne sees the request (the
size cap, the memory budget, waitress's own limits) and for the last line of defence."""

from __future__ import annotations

from lxml import etree

from connector.errors import ErrorCode
from connector.soap.envelope_rules import SOAP_ENV


def fault_envelope(code: ErrorCode, message: str) -> bytes:
    """A SOAP 1.1 fault for errors raised before spyne sees the request (e.g. the size cap)."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap11env": SOAP_ENV})
    fault = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soap11env:{code.value}"
    etree.SubElement(fault, "faultstring").text = message
    detail = etree.SubElement(fault, "detail")
    etree.SubElement(detail, "code").text = code.value
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
