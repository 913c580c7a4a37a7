"""Reading the connector's faults as a client does: the standard SOAP ``faultcode`` (WS-I BP
R1031) and the documented code in the typed detail (``tns:ConnectorFault``)."""

from __future__ import annotations

import zeep
from lxml import etree

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "urn:vn:lienthong:connector:1"


def detail_code(detail: etree._Element | None) -> str:
    """``Client.SchemaInvalid`` from ``<detail><tns:ConnectorFault><tns:code>``."""
    assert detail is not None, "the fault has no detail"
    code = detail.findtext(f"{{{TNS}}}ConnectorFault/{{{TNS}}}code")
    assert code, etree.tostring(detail)
    return code


def documented_code(fault: zeep.exceptions.Fault) -> str:
    """The documented code of a fault zeep raised, after checking that its faultcode is the
    standard SOAP code the documented one belongs to."""
    code = detail_code(fault.detail)
    assert fault.code.split(":")[-1] == code.split(".")[0], (fault.code, code)
    return code


def standard_faultcode(fault: etree._Element) -> tuple[str, str]:
    """(namespace, local name) of a SOAP 1.1 ``faultcode`` QName, its prefix resolved."""
    element = fault.find("faultcode")
    prefix, _, local = element.text.strip().rpartition(":")
    return element.nsmap.get(prefix or None, ""), local
