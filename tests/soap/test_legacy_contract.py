"""The contract as legacy SOAP stacks read and write it (issue 9): names that are no keyword of
Java, C#, C/C++ or Perl; a typed fault on every operation; only the namespaces the WSDL uses;
each endpoint's WSDL with its own binding only (the versions themselves: ``test_versions.py``); UTF-16 envelopes,
``xsi:type`` annotations and a namespace hint for unqualified children; no echo of long values.
The generated clients themselves run in ``tests/interop/``."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import requests
import zeep
from lxml import etree

from connector.errors import ErrorCode
from simulators import guide
from testkit.faults import TNS, documented_code, fault_of
from testkit.net import new_id
from tests.soap.keywords import LANGUAGES
from tests.soap.test_faults import SOAP_ENV, post, send_raw

ROOT = Path(__file__).resolve().parents[2]
WSDL = "http://schemas.xmlsoap.org/wsdl/"
XS = "http://www.w3.org/2001/XMLSchema"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
QNAME_ATTRIBUTES = ("type", "element", "message", "binding", "base", "ref", "itemType")


WSDLS = ("wsdl/connector.wsdl", "wsdl/connector-soap12.wsdl")
WSDL_SOAP = {
    "wsdl/connector.wsdl": "http://schemas.xmlsoap.org/wsdl/soap/",
    "wsdl/connector-soap12.wsdl": "http://schemas.xmlsoap.org/wsdl/soap12/",
}


def contract_documents() -> dict[str, etree._Element]:
    return {name: etree.parse(str(ROOT / name)).getroot() for name in (*WSDLS, "schemas/connector.xsd")}


def keyword_clashes(names: set[str]) -> set[tuple[str, str]]:
    return {(name, language) for name in names for language, words in LANGUAGES.items() if name in words}


# ---- names ----------------------------------------------------------------------------------
def test_no_element_part_or_operation_name_is_a_keyword_of_java_csharp_c_or_perl():
    names = {
        element.get("name")
        for document in contract_documents().values()
        for element in document.iter()
        if isinstance(element.tag, str) and element.get("name")
    }
    assert {"edxmlPackage", "sendDocument", "ConnectorFault", "messageId"} <= names  # the files were read
    assert keyword_clashes(names) == set()


def test_the_keyword_lists_catch_the_old_name():
    assert keyword_clashes({"package"}) == {("package", "Java"), ("package", "Perl")}


# ---- typed faults ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", WSDLS)
def test_every_operation_declares_the_typed_fault_in_the_one_binding(name):
    """One binding per document (Axis 1.4 could not read the WSDL while it held the SOAP 1.2 one)."""
    wsdl = contract_documents()[name]
    operations = [op.get("name") for op in wsdl.iterfind(f"{{{WSDL}}}portType/{{{WSDL}}}operation")]
    assert len(operations) == 7
    for op in wsdl.iterfind(f"{{{WSDL}}}portType/{{{WSDL}}}operation"):
        assert op.find(f"{{{WSDL}}}fault").get("message") == "tns:ConnectorFault", op.get("name")
    (binding,) = wsdl.findall(f"{{{WSDL}}}binding")
    assert binding.find(f"{{{WSDL_SOAP[name]}}}binding") is not None
    faulting = [
        op.get("name") for op in binding.iterfind(f"{{{WSDL}}}operation") if op.find(f"{{{WSDL}}}fault") is not None
    ]
    assert faulting == operations, binding.get("name")
    (port,) = wsdl.findall(f"{{{WSDL}}}service/{{{WSDL}}}port")
    assert port.find(f"{{{WSDL_SOAP[name]}}}address") is not None
    part = wsdl.find(f"{{{WSDL}}}message[@name='ConnectorFault']/{{{WSDL}}}part")
    assert part.get("element") == "tns:ConnectorFault"
    fault_type = wsdl.find(f".//{{{XS}}}complexType[@name='ConnectorFault']")
    assert [(e.get("name"), e.get("minOccurs")) for e in fault_type.iter(f"{{{XS}}}element")] == [
        ("code", None),
        ("field", "0"),
        ("message", None),
        ("requestId", "0"),
    ]


# ---- namespaces -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", WSDLS)
def test_the_wsdl_declares_only_namespaces_it_uses(name):
    """gSOAP's wsdl2h makes a SOAP 1.2 client of a WSDL that merely declares SOAP 1.2's namespaces."""
    wsdl = contract_documents()[name]
    declared, used = set(), set()
    for element in wsdl.iter():
        if not isinstance(element.tag, str):
            continue
        parent = element.getparent()
        inherited = parent.nsmap if parent is not None else {}
        declared |= {uri for prefix, uri in element.nsmap.items() if inherited.get(prefix) != uri}
        used.add(etree.QName(element).namespace)
        used |= {etree.QName(name).namespace for name in element.attrib if "}" in name}
        for attribute in QNAME_ATTRIBUTES:
            if ":" in (value := element.get(attribute, "")):
                used.add(element.nsmap[value.split(":")[0]])
    assert declared <= used, declared - used
    assert SOAP12_ENV not in declared and set(WSDL_SOAP.values()) & declared == {WSDL_SOAP[name]}


# ---- what old encoders send -----------------------------------------------------------------
def send_envelope(connector, *, annotate: bool = False, qualify: bool = True) -> str:
    """A sendDocument as Perl SOAP::Lite writes it: ``xsi:type`` on every value when ``annotate``,
    the wrapper's children unqualified unless ``qualify``."""
    xsd = {
        "string": ' xsi:type="xsd:string"',
        "base64": ' xsi:type="xsd:base64Binary"',
        "dateTime": ' xsi:type="xsd:dateTime"',
        "date": ' xsi:type="xsd:date"',
    }
    t = xsd if annotate else dict.fromkeys(xsd, "")
    c = "c:" if qualify else ""
    package = base64.b64encode(connector.sign(guide.send_package())).decode()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:c="{TNS}">
  <soap:Body>
    <c:sendDocument>
      <{c}messageId{t["string"]}>{new_id()}</{c}messageId>
      <{c}edxmlPackage{t["base64"]}>{package}</{c}edxmlPackage>
      <{c}kind{t["string"]}>INCOMING</{c}kind>
      <{c}senderUsername{t["string"]}>cbtiepnhan</{c}senderUsername>
      <{c}dossier>
        <{c}dossierCode{t["string"]}>{guide.DOSSIER_CODE}</{c}dossierCode>
        <{c}procedureCode{t["string"]}>{guide.PROCEDURE_CODE}</{c}procedureCode>
        <{c}procedureName{t["string"]}>Thủ tục Cấp bản sao từ sổ gốc</{c}procedureName>
        <{c}applicant{t["string"]}>Nguyễn Văn An</{c}applicant>
        <{c}receivedAt{t["dateTime"]}>2022-11-26T15:09:15+07:00</{c}receivedAt>
        <{c}dueDate{t["date"]}>2022-11-30</{c}dueDate>
      </{c}dossier>
    </c:sendDocument>
  </soap:Body>
</soap:Envelope>"""


def receipt_state(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content).findtext(f".//{{{TNS}}}receipt/{{{TNS}}}state")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_envelopes_with_a_byte_order_mark_are_accepted(connector, codec):
    text = send_envelope(connector).replace('encoding="UTF-8"', 'encoding="UTF-16"')
    text = text.replace("<soap:Body>", f"<soap:Header>{connector.security_header()}</soap:Header><soap:Body>", 1)
    data = text.encode(codec)
    if codec != "utf-16":  # utf-16 writes its BOM itself; the explicit-endian codecs do not
        data = ("\ufeff" + text).encode(codec)
    answer = requests.post(
        f"{connector.url}/soap", data=data, headers={"Content-Type": "text/xml; charset=utf-16"}, timeout=30
    )
    assert receipt_state(answer) == "accepted"


def test_xsi_type_annotations_naming_the_builtin_a_field_derives_from_are_accepted(connector):
    assert receipt_state(post(connector, send_envelope(connector, annotate=True).encode())) == "accepted"


def test_an_xsi_type_the_field_does_not_derive_from_is_still_refused(connector):
    envelope = send_envelope(connector, annotate=True).replace(
        '<c:kind xsi:type="xsd:string">', '<c:kind xsi:type="xsd:int">', 1
    )
    code, message = fault_of(post(connector, envelope.encode()))
    assert code == ErrorCode.SCHEMA_INVALID.value and "kind" in message, message


def test_unqualified_children_are_told_the_expected_namespace(connector):
    code, message = fault_of(post(connector, send_envelope(connector, qualify=False).encode()))
    assert code == ErrorCode.SCHEMA_INVALID.value
    assert f"expected {{{TNS}}}messageId" in message and "no namespace" in message, message


def test_a_request_in_another_namespace_is_told_the_expected_one(connector):
    envelope = send_envelope(connector).replace(f'xmlns:c="{TNS}"', 'xmlns:c="urn:vn:lienthong:connector:2"')
    code, message = fault_of(post(connector, envelope.encode()))
    assert code == ErrorCode.SCHEMA_INVALID.value
    assert "urn:vn:lienthong:connector:2" in message and f"expected {{{TNS}}}sendDocument" in message, message


# ---- no echo ------------------------------------------------------------------------------------
def test_a_fault_quotes_at_most_the_first_80_characters_of_a_value(connector):
    value = "".join(chr(ord("A") + i % 26) for i in range(300))
    code, message = fault_of(send_raw(connector, b"x", kind=value))  # libxml2 quotes enumeration values
    assert code == ErrorCode.SCHEMA_INVALID.value and "kind" in message
    assert value[:80] in message and value[:81] not in message, message


def test_a_typed_fault_reaches_zeep_with_its_documented_code(connector):
    with pytest.raises(zeep.exceptions.Fault) as caught:
        connector.client().service.getStatus(dossierCode="no-such-dossier")
    assert documented_code(caught.value) == ErrorCode.UNKNOWN_DOCUMENT.value
    assert caught.value.detail.findtext(f"{{{TNS}}}ConnectorFault/{{{TNS}}}field") == "getStatus/dossierCode"
