"""SOAP 1.1 and 1.2 (issue 23): each endpoint's WSDL describes that endpoint alone, and both
paths accept either envelope version and answer in the version of the request - a documented
leniency for generated clients that pick a port and a version independently (gSOAP's default
endpoint, node-soap's shortcut, PHP ``SoapClient`` with ``SOAP_1_2`` and no ``location``).
``VersionMismatch`` is left for envelopes that are neither."""

from __future__ import annotations

import io

import pytest
import requests
from lxml import etree

from connector.errors import ErrorCode
from connector.soap.envelope_version import envelope_version, root_tag
from connector.soap.faults import SoapVersion
from simulators import guide
from testkit.faults import TNS, detail_code
from testkit.net import new_id

SOAP11_ENV = SoapVersion.SOAP11.value
SOAP12_ENV = SoapVersion.SOAP12.value
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
WSDL_SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
CONTENT_TYPES = {SOAP11_ENV: "text/xml; charset=utf-8", SOAP12_ENV: "application/soap+xml; charset=utf-8"}
NOT_SOAP = "urn:example:not-soap"


def get_status(connector, namespace: str, dossier_code: str) -> bytes:
    header = connector.security_header()
    return (
        f'<e:Envelope xmlns:e="{namespace}"><e:Header>{header}</e:Header><e:Body>'
        f'<getStatus xmlns="{TNS}"><dossierCode>{dossier_code}</dossierCode></getStatus>'
        "</e:Body></e:Envelope>"
    ).encode()


def post(connector, path: str, body: bytes, namespace: str) -> tuple[requests.Response, etree._Element]:
    content_type = CONTENT_TYPES.get(namespace, "text/xml; charset=utf-8")
    answer = requests.post(f"{connector.url}{path}", data=body, headers={"Content-Type": content_type}, timeout=30)
    return answer, etree.fromstring(answer.content)


# ---- each endpoint's WSDL ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "path,binding_ns,other_ns,port",
    [
        ("/soap", WSDL_SOAP11, WSDL_SOAP12, "ConnectorPort"),
        ("/soap12", WSDL_SOAP12, WSDL_SOAP11, "ConnectorPortSoap12"),
    ],
)
def test_each_endpoint_serves_a_wsdl_of_its_own_binding_and_port_only(connector, path, binding_ns, other_ns, port):
    served = requests.get(f"{connector.url}{path}?wsdl", timeout=10).content
    wsdl = etree.fromstring(served)
    assert [p.get("name") for p in wsdl.iterfind(f"{{{WSDL}}}service/{{{WSDL}}}port")] == [port]
    assert wsdl.find(f"{{{WSDL}}}service/{{{WSDL}}}port/{{{binding_ns}}}address").get("location") == (
        connector.url + path
    )
    assert len(wsdl.findall(f"{{{WSDL}}}binding")) == 1
    assert other_ns.encode() not in served  # not even declared (gSOAP's wsdl2h reads declarations)


def test_zeep_from_the_soap12_wsdl_carries_the_whole_contract(connector):
    """zeep from ``/soap12?wsdl`` with no port named: SOAP 1.2, the typed fault as ``Sender``."""
    import zeep

    client = connector.client()
    client12 = zeep.Client(f"{connector.url}/soap12?wsdl", transport=client.transport, wsse=client.wsse)
    dossier = {"dossierCode": guide.DOSSIER_CODE, "procedureCode": guide.PROCEDURE_CODE}
    receipt = client12.service.sendDocument(
        messageId=new_id(),
        edxmlPackage=connector.sign(guide.send_package()),
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=dossier,
    )
    assert receipt.state == "accepted"
    assert client12.service.getStatus(dossierCode=guide.DOSSIER_CODE).exchangeId == receipt.exchangeId
    with pytest.raises(zeep.exceptions.Fault) as caught:
        client12.service.getStatus(dossierCode="no-such-dossier")
    assert caught.value.code.split(":")[-1] == "Sender"  # SOAP 1.2's name for Client
    assert detail_code(caught.value.detail) == ErrorCode.UNKNOWN_DOCUMENT.value


# ---- either version on either path ------------------------------------------------------------
@pytest.mark.parametrize("path", ["/soap", "/soap12"])
@pytest.mark.parametrize("namespace", [SOAP11_ENV, SOAP12_ENV], ids=["soap11", "soap12"])
def test_either_path_answers_an_envelope_in_its_own_version(connector, path, namespace):
    """A fault and a response, each in the request's version with its content type."""
    answer, envelope = post(connector, path, get_status(connector, namespace, "no-such-dossier"), namespace)
    assert (
        answer.status_code == 500
        and answer.headers["Content-Type"].split(";")[0] == (CONTENT_TYPES[namespace].split(";")[0])
    )
    assert envelope.tag == f"{{{namespace}}}Envelope"
    fault = envelope.find(f"{{{namespace}}}Body/{{{namespace}}}Fault")
    detail = fault.find("detail" if namespace == SOAP11_ENV else f"{{{namespace}}}Detail")
    assert detail_code(detail) == ErrorCode.UNKNOWN_DOCUMENT.value
    assert detail.findtext(f"{{{TNS}}}ConnectorFault/{{{TNS}}}field") == "getStatus/dossierCode"

    receipt = connector.client().service.sendDocument(
        messageId=new_id(),
        edxmlPackage=connector.sign(guide.send_package()),
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier={"dossierCode": guide.DOSSIER_CODE, "procedureCode": guide.PROCEDURE_CODE},
    )
    answer, envelope = post(connector, path, get_status(connector, namespace, guide.DOSSIER_CODE), namespace)
    assert answer.status_code == 200 and envelope.tag == f"{{{namespace}}}Envelope"
    assert envelope.findtext(f".//{{{TNS}}}exchangeId") == receipt.exchangeId


@pytest.mark.parametrize("path,version", [("/soap", SoapVersion.SOAP11), ("/soap12", SoapVersion.SOAP12)])
def test_an_envelope_of_neither_version_is_a_version_mismatch_in_the_paths_version(connector, path, version):
    answer, envelope = post(connector, path, get_status(connector, NOT_SOAP, "x"), NOT_SOAP)
    env = version.value
    fault = envelope.find(f"{{{env}}}Body/{{{env}}}Fault")
    if version is SoapVersion.SOAP11:
        assert fault.findtext("faultcode").split(":")[-1] == "VersionMismatch"
        detail = fault.find("detail")
    else:
        assert fault.findtext(f"{{{env}}}Code/{{{env}}}Value").split(":")[-1] == "VersionMismatch"
        detail = fault.find(f"{{{env}}}Detail")
    assert detail_code(detail) == ErrorCode.VERSION_MISMATCH.value
    assert NOT_SOAP in detail.findtext(f"{{{TNS}}}ConnectorFault/{{{TNS}}}message")
    assert detail.findtext(f"{{{TNS}}}ConnectorFault/{{{TNS}}}field") == "Envelope"


def test_a_soap12_header_that_must_be_understood_is_refused_on_either_path(connector):
    unknown = '<x:Unknown xmlns:x="urn:example" e:mustUnderstand="true"/>'
    for path in ("/soap", "/soap12"):  # a fresh header each time: a nonce is used once
        body = get_status(connector, SOAP12_ENV, "x").replace(b"</e:Header>", unknown.encode() + b"</e:Header>")
        _answer, envelope = post(connector, path, body, SOAP12_ENV)
        fault = envelope.find(f"{{{SOAP12_ENV}}}Body/{{{SOAP12_ENV}}}Fault")
        assert fault.findtext(f"{{{SOAP12_ENV}}}Code/{{{SOAP12_ENV}}}Value").split(":")[-1] == "MustUnderstand"


def get_status_bytes(namespace: str) -> bytes:
    return (
        f'<e:Envelope xmlns:e="{namespace}"><e:Body><getStatus xmlns="{TNS}"><dossierCode>x</dossierCode>'
        "</getStatus></e:Body></e:Envelope>"
    ).encode()


# ---- reading the version ----------------------------------------------------------------------
class _Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        data = self._data.read(min(len(buffer), 1000))  # short reads, as a socket gives them
        buffer[: len(data)] = data
        return len(data)


@pytest.mark.parametrize("seekable", [True, False])
def test_the_version_is_read_from_the_first_element_and_the_body_is_given_back_whole(seekable):
    body = b'<?xml version="1.0"?>\n<!-- a comment -->' + get_status_bytes(SOAP12_ENV) + b" " * 100_000
    stream = io.BytesIO(body) if seekable else io.BufferedReader(_Unseekable(body))
    environ = {"wsgi.input": stream, "CONTENT_LENGTH": str(len(body))}
    assert envelope_version(environ, SoapVersion.SOAP11) is SoapVersion.SOAP12
    assert environ["wsgi.input"].read(len(body)) == body


@pytest.mark.parametrize(
    "body,expected",
    [
        (get_status_bytes(SOAP11_ENV).decode().encode("utf-16"), f"{{{SOAP11_ENV}}}Envelope"),
        (b"<not xml", None),
        (b'<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>', "x"),
    ],
    ids=["utf-16", "malformed", "doctype"],
)
def test_the_root_tag_is_read_without_trusting_the_document(body, expected):
    """Malformed and DOCTYPE-laden bodies stay with the path's version: its protocol refuses them."""
    assert root_tag(body) == expected
