"""SOAP faults as every stack reads them (WS-I Basic Profile R1031).

``faultcode`` is one of SOAP's own codes - ``Client``, ``Server``, ``MustUnderstand``,
``VersionMismatch`` (SOAP 1.2: ``Sender``, ``Receiver``, ...) - so generic clients classify it;
the documented code of ``connector.errors`` travels in the typed ``detail``::

    <detail><tns:ConnectorFault><tns:code>Client.SchemaInvalid</tns:code>
      <tns:field>sendDocument/dossier</tns:field><tns:message>...</tns:message></tns:ConnectorFault></detail>

declared in the WSDL (a ``wsdl:fault`` on every operation), so generated clients raise a typed
exception carrying the code.
"""

from __future__ import annotations

import enum
import re
from typing import Any

from lxml import etree

from connector.errors import ErrorCode
from connector.soap.models import TNS, optional, required
from connector.soap.spyne_compat import Fault, Soap11, Soap12, Unicode

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENV = SOAP11_ENV
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
MAX_QUOTE = 80


class SoapVersion(enum.Enum):
    SOAP11 = SOAP11_ENV
    SOAP12 = SOAP12_ENV

    @property
    def label(self) -> str:
        return "SOAP 1.1" if self is SoapVersion.SOAP11 else "SOAP 1.2"

    @property
    def content_type(self) -> str:
        return "text/xml; charset=utf-8" if self is SoapVersion.SOAP11 else "application/soap+xml; charset=utf-8"


# SOAP 1.2 renamed two of SOAP 1.1's codes (SOAP 1.2 part 1, 5.4.6).
_SOAP12_CODE = {"Client": "Sender", "Server": "Receiver"}


def standard_code(code: ErrorCode) -> str:
    """The SOAP 1.1 code an ``ErrorCode`` belongs to: ``Client.SchemaInvalid`` -> ``Client``."""
    return code.value.split(".")[0]


class FaultDetail(Fault):
    """The typed detail, declared in the WSDL (``_throws``). Never raised: ``ConnectorFault``
    writes this element itself, because spyne would put the members beside faultcode."""

    __namespace__ = TNS
    __type_name__ = "ConnectorFault"
    _type_info = [
        ("code", required(Unicode)),
        ("field", optional(Unicode)),
        ("message", required(Unicode)),
        ("requestId", optional(Unicode)),  # added by the HTTP layer: the request's log line and X-Request-Id
    ]


_LONG_QUOTE = re.compile(r"""(['"])([^'"]{""" + str(MAX_QUOTE + 1) + r""",})\1""")


def shorten_quotes(message: str) -> str:
    """Never echo a whole submitted value: any quoted value is cut to its first 80 characters."""

    def cut(match: re.Match[str]) -> str:
        quote, value = match.group(1), match.group(2)
        return f"{quote}{value[:MAX_QUOTE]}{quote}... ({len(value):,} characters)"

    return _LONG_QUOTE.sub(cut, message)


class ConnectorFault(Fault):
    """A documented fault: ``code`` is the ``ErrorCode``, sent in the typed detail; ``faultcode``
    is its standard SOAP code."""

    __namespace__ = TNS

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        message = shorten_quotes(message)
        super().__init__(faultcode=standard_code(code), faultstring=message)
        self.code = code
        self.field = field
        self.message = message


def as_connector_fault(fault: Fault) -> ConnectorFault:
    """spyne's own faults (an unknown operation, ...) in our vocabulary."""
    if isinstance(fault, ConnectorFault):
        return fault
    client = str(fault.faultcode).split(":")[-1].startswith("Client")
    code = ErrorCode.SCHEMA_INVALID if client else ErrorCode.INTERNAL
    return ConnectorFault(code, str(fault.faultstring), "Envelope/Body" if client else None)


def detail_element(code: ErrorCode, message: str, field: str | None) -> etree._Element:
    detail = etree.Element(f"{{{TNS}}}ConnectorFault", nsmap={"tns": TNS})
    etree.SubElement(detail, f"{{{TNS}}}code").text = code.value
    if field:
        etree.SubElement(detail, f"{{{TNS}}}field").text = field
    etree.SubElement(detail, f"{{{TNS}}}message").text = message
    return detail


def fault_element(version: SoapVersion, fault: ConnectorFault) -> etree._Element:
    """``soap:Fault`` for either SOAP version (SOAP 1.1 section 4.4, SOAP 1.2 part 1 section 5.4)."""
    env = version.value
    element = etree.Element(f"{{{env}}}Fault", nsmap={"soap": env})
    standard = standard_code(fault.code)
    if version is SoapVersion.SOAP11:
        etree.SubElement(element, "faultcode").text = f"soap:{standard}"
        etree.SubElement(element, "faultstring").text = fault.message
        etree.SubElement(element, "detail").append(detail_element(fault.code, fault.message, fault.field))
    else:
        code = etree.SubElement(element, f"{{{env}}}Code")
        value = etree.SubElement(code, f"{{{env}}}Value")
        value.text = f"soap:{_SOAP12_CODE.get(standard, standard)}"
        reason = etree.SubElement(element, f"{{{env}}}Reason")
        text = etree.SubElement(reason, f"{{{env}}}Text")
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        text.text = fault.message
        etree.SubElement(element, f"{{{env}}}Detail").append(detail_element(fault.code, fault.message, fault.field))
    return element


def fault_envelope(code: ErrorCode, message: str, version: SoapVersion = SoapVersion.SOAP11) -> bytes:
    """A whole fault message written without spyne: for refusals made before spyne sees the
    request (the size cap, the memory budget, waitress's own limits) and the last line of defence."""
    return envelope_of(ConnectorFault(code, message), version)


def envelope_of(fault: ConnectorFault, version: SoapVersion = SoapVersion.SOAP11) -> bytes:
    env = version.value
    envelope = etree.Element(f"{{{env}}}Envelope", nsmap={"soap": env})
    etree.SubElement(envelope, f"{{{env}}}Body").append(fault_element(version, fault))
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def write_fault(version: SoapVersion, inst: Any, parent: Any) -> None:
    """spyne's fault serialiser, replaced (``fault_to_parent``): spyne would write dict details
    unqualified and an empty ``faultactor``."""
    element = fault_element(version, as_connector_fault(inst))
    if hasattr(parent, "write"):  # spyne's incremental (lxml.etree.xmlfile) writer
        parent.write(element)
        return
    parent.append(element)
    # The code is a QName in text: its prefix must be the one in scope where the fault now sits
    # (lxml may have merged our declaration into the envelope's).
    code = element.find("faultcode") if version is SoapVersion.SOAP11 else element.find(f"{{{version.value}}}Code/*")
    local = code.text.split(":")[-1]
    code.text = f"{element.prefix}:{local}" if element.prefix else local


class TypedFaultsSoap11(Soap11):
    """spyne's SOAP 1.1 writer with the faults above."""

    version = SoapVersion.SOAP11

    def fault_to_parent(self, ctx: Any, cls: Any, inst: Any, parent: Any, ns: Any, *args: Any, **kwargs: Any) -> None:
        write_fault(self.version, inst, parent)


class TypedFaultsSoap12(Soap12):
    """spyne's SOAP 1.2 writer with the faults above (spyne's own cannot write a typed detail)."""

    version = SoapVersion.SOAP12

    def fault_to_parent(self, ctx: Any, cls: Any, inst: Any, parent: Any, ns: Any, *args: Any, **kwargs: Any) -> None:
        write_fault(self.version, inst, parent)
