"""The checked-in contract (wsdl/connector.wsdl + schemas/) is what the server serves, and a
legacy client that writes its own SOAP 1.1 envelope (no zeep) is served like zeep."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import requests
import xmlschema
from lxml import etree

from connector.soap.contract import DEFAULT_BASE_URL, generate
from connector.soap.faults import SoapVersion
from simulators import guide
from testkit.net import new_id
from tests.soap.test_faults import SOAP_ENV, post

ROOT = Path(__file__).resolve().parents[2]
WSDL = "http://schemas.xmlsoap.org/wsdl/"
XS = "http://www.w3.org/2001/XMLSchema"


def operations(wsdl: etree._Element) -> dict[str, tuple[str, str]]:
    """operation → (input element, output element), through portType and messages."""
    messages = {
        m.get("name"): m.find(f"{{{WSDL}}}part").get("element").split(":")[-1] for m in wsdl.iter(f"{{{WSDL}}}message")
    }
    result = {}
    for op in wsdl.find(f"{{{WSDL}}}portType").iter(f"{{{WSDL}}}operation"):
        message_in = op.find(f"{{{WSDL}}}input").get("message").split(":")[-1]
        message_out = op.find(f"{{{WSDL}}}output").get("message").split(":")[-1]
        result[op.get("name")] = (messages[message_in], messages[message_out])
    return result


def shape(component, seen=()) -> object:  # noqa: ANN001
    """A comparable picture of an element: name, occurrence, and its type's structure."""
    kind = component.type
    if kind.is_simple():
        facets = {
            str(k).split("}")[-1]: getattr(v, "value", None)
            for k, v in (getattr(kind, "facets", {}) or {}).items()
            if k is not None and hasattr(v, "value")
        }
        enum = sorted(getattr(kind, "enumeration", None) or [])
        base = kind.primitive_type.local_name if hasattr(kind, "primitive_type") else kind.local_name
        picture: object = (base, tuple(sorted(facets.items())), tuple(enum))
    elif kind.name in seen:
        picture = kind.name
    else:
        picture = tuple(shape(child, (*seen, kind.name)) for child in kind.content.iter_elements())
    return (component.local_name, component.min_occurs, component.max_occurs, picture)


@pytest.mark.parametrize("path,file", [("/soap", "connector.wsdl"), ("/soap12", "connector-soap12.wsdl")])
def test_served_wsdl_is_the_checked_in_file_but_for_the_address(connector, path, file):
    served = requests.get(f"{connector.url}{path}?wsdl", timeout=10).content
    checked_in = (ROOT / "wsdl" / file).read_bytes()
    assert served.replace(connector.url.encode(), DEFAULT_BASE_URL.encode()) == checked_in
    assert served.count(f'location="{connector.url}/'.encode()) == 1  # this endpoint's port only
    assert f'location="{connector.url}{path}"'.encode() in served


def test_checked_in_contract_is_what_the_models_generate():
    """``python -m connector.soap.contract`` was run after the last model change."""
    xsd, wsdls = generate()
    assert xsd == (ROOT / "schemas" / "connector.xsd").read_bytes()
    assert wsdls[SoapVersion.SOAP11] == (ROOT / "wsdl" / "connector.wsdl").read_bytes()
    assert wsdls[SoapVersion.SOAP12] == (ROOT / "wsdl" / "connector-soap12.wsdl").read_bytes()


def test_the_wsdl_schema_is_the_published_xsd():
    """Self-contained WSDL: its inline schema is schemas/connector.xsd, so generating from either
    file (or from the server) gives the same types."""
    wsdl = etree.parse(str(ROOT / "wsdl" / "connector.wsdl")).getroot()
    inline = xmlschema.XMLSchema10(etree.tostring(wsdl.find(f"{{{WSDL}}}types/{{{XS}}}schema")).decode())
    file_schema = xmlschema.XMLSchema10(str(ROOT / "schemas" / "connector.xsd"))
    assert set(inline.elements) == set(file_schema.elements)
    assert set(operations(wsdl)) == {
        "sendDocument",
        "publishResult",
        "updateStatus",
        "getStatus",
        "listPending",
        "fetchPending",
        "acknowledge",
    }
    for request, response in operations(wsdl).values():
        for name in (request, response, "ConnectorFault"):
            assert shape(inline.elements[name]) == shape(file_schema.elements[name]), name


def test_wsdl_address_is_pinned_from_configuration_not_the_host_header(connector):
    poisoned = requests.get(f"{connector.url}/soap?wsdl", headers={"Host": "evil.example:666"}, timeout=10)
    assert b"evil.example" not in poisoned.content
    assert f'location="{connector.url}/soap"'.encode() in poisoned.content


def test_checked_in_contract_files_are_served_for_integrators(connector):
    for path in (
        "/wsdl/connector.wsdl",
        "/wsdl/connector-soap12.wsdl",
        "/schemas/connector.xsd",
        "/schemas/edxml.xsd",
        "/schemas/xmldsig-core-schema.xsd",
    ):
        response = requests.get(connector.url + path, timeout=10)
        assert response.status_code == 200 and response.content == (ROOT / path.strip("/")).read_bytes()
    assert requests.get(connector.url + "/schemas/../server.py", timeout=10).status_code == 404


def test_index_page_points_a_person_to_the_wsdl_and_docs(connector):
    page = requests.get(connector.url + "/", timeout=10).text
    assert f"{connector.url}/soap?wsdl" in page and "docs/contract.md" in page


def test_a_hand_written_soap_11_envelope_is_accepted(connector):
    """As a legacy .NET or Java client would post it: prefixes of its own, SOAPAction header,
    a WS-Security UsernameToken (PasswordDigest) of its own making."""
    package = base64.b64encode(connector.sign(guide.send_package())).decode()
    message_id = new_id()
    envelope = f"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="{SOAP_ENV}">
  <s:Header>{connector.security_header()}</s:Header>
  <s:Body>
    <sendDocument xmlns="urn:vn:lienthong:connector:1">
      <messageId>{message_id}</messageId>
      <edxmlPackage>{package}</edxmlPackage>
      <kind>INCOMING</kind>
      <senderUsername>cbtiepnhan</senderUsername>
      <dossier>
        <dossierCode>{guide.DOSSIER_CODE}</dossierCode>
        <procedureCode>{guide.PROCEDURE_CODE}</procedureCode>
        <onestopNumber>{guide.ONESTOP_DOSSIER_NUMBER}</onestopNumber>
        <receivedAt>2022-11-26T15:09:15+07:00</receivedAt>
      </dossier>
    </sendDocument>
  </s:Body>
</s:Envelope>"""
    response = post(connector, envelope.encode(), system_id=None)
    assert response.status_code == 200, response.text
    body = etree.fromstring(response.content)
    ns = {"c": "urn:vn:lienthong:connector:1"}
    assert body.findtext(".//c:receipt/c:messageId", namespaces=ns) == message_id
    assert body.findtext(".//c:receipt/c:routing/c:queue", namespaces=ns) == "registration"
    assert body.findtext(".//c:receipt/c:state", namespaces=ns) == "accepted"
