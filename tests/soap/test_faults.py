"""How faults reach a SOAP caller: the request's bytes and envelope (size cap, malformed XML,
schema), and the service's faults mapped to documented codes over real HTTP. The rules behind
the service's faults are specified next to them, in ``tests/service/``. Nothing half-stored:
after each fault the exchange store holds no trace of the request."""

from __future__ import annotations

import base64
import re

import pytest
import requests

from connector.edxml import StatusCode
from connector.errors import ErrorCode
from connector.soap.service import ConnectorFault, ConnectorService
from signing import SigningOptions, sign_package
from simulators import guide
from testkit.faults import fault_of, refused_over_soap
from testkit.live import ONESTOP, PULL_AGENCY, start_connector
from testkit.net import new_id
from tests.soap.test_guide_cases import DOSSIER, publish, send, status

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def send_raw(connector, package: bytes, **fields) -> requests.Response:
    dossier = {"dossierCode": guide.DOSSIER_CODE, "procedureCode": guide.PROCEDURE_CODE} | fields.pop("dossier", {})
    values = {"messageId": new_id(), "kind": "INCOMING", "senderUsername": "cbtiepnhan"} | fields
    dossier_xml = "".join(f"<c:{k}>{v}</c:{k}>" for k, v in dossier.items())
    envelope = f"""<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:c="urn:vn:lienthong:connector:1">
  <soap:Body>
    <c:sendDocument>
      <c:messageId>{values["messageId"]}</c:messageId>
      <c:edxmlPackage>{base64.b64encode(package).decode()}</c:edxmlPackage>
      <c:kind>{values["kind"]}</c:kind>
      <c:senderUsername>{values["senderUsername"]}</c:senderUsername>
      <c:dossier>{dossier_xml}</c:dossier>
    </c:sendDocument>
  </soap:Body>
</soap:Envelope>"""
    return post(connector, envelope.encode())


def post(connector, body: bytes, system_id: str | None = ONESTOP) -> requests.Response:
    """POST the bytes; a SOAP envelope start tag gets a wsse:Security header for ``system_id`` first."""
    if system_id is not None:
        header = connector.security_header(system_id).encode()
        body = re.sub(
            rb"(<(\w+):Envelope\b[^>]*(?<!/)>)",
            lambda m: m[1] + b"<%s:Header>%s</%s:Header>" % (m[2], header, m[2]),
            body,
            count=1,
        )
    return requests.post(
        f"{connector.url}/soap",
        data=body,
        timeout=30,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"sendDocument"'},
    )


def assert_nothing_stored(connector) -> None:
    store = connector.runtime.store
    assert store.exchanges_for_dossier(guide.DOSSIER_CODE) == []
    assert store.outbox_items() == []


# ---- the bytes ------------------------------------------------------------------------
def test_too_large(tmp_path):
    live, server = start_connector(tmp_path / "small", max_request_bytes=100_000)
    try:
        code, message = fault_of(post(live, b"<x/>" + b" " * 200_000))
        assert code == ErrorCode.TOO_LARGE.value and "limit is 100,000 bytes" in message
    finally:
        server.stop()
        live.runtime.close()


def test_malformed_envelope(connector):
    code, message = fault_of(post(connector, b"<soap:Envelope xmlns:soap='" + SOAP_ENV.encode() + b"'><soap:Body>"))
    assert code == ErrorCode.MALFORMED_XML.value and "line" in message


def test_doctype_in_the_envelope_is_forbidden(connector):
    body = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><soap:Envelope xmlns:soap="'
        + SOAP_ENV.encode()
        + b'"/>'
    )
    code, message = fault_of(post(connector, body))
    assert code == ErrorCode.FORBIDDEN_XML.value and "DOCTYPE" in message


def test_schema_invalid_names_the_field(connector):
    code, message = fault_of(send_raw(connector, b"x", dossier={"dossierCode": "x" * 300}))
    assert code == ErrorCode.SCHEMA_INVALID.value
    assert "sendDocument/dossier/dossierCode" in message


def test_schema_invalid_for_an_unknown_kind(connector):
    code, message = fault_of(send_raw(connector, b"x", kind="SIDEWAYS"))
    assert code == ErrorCode.SCHEMA_INVALID.value and "kind" in message


# ---- the package ----------------------------------------------------------------------
def test_not_edxml(connector):
    refused_over_soap(
        ErrorCode.NOT_EDXML,
        connector.client().service.sendDocument,
        messageId=new_id(),
        edxmlPackage=b"<invoice xmlns='urn:x'/>",
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER,
    )


def send_signed(connector, data: bytes, organ_id: str = guide.ONESTOP.organ_id, **options):
    signed = sign_package(data, connector.runtime.dev_keys.identity(organ_id), SigningOptions(**options))
    return connector.client().service.sendDocument(
        messageId=new_id(), edxmlPackage=signed, kind="INCOMING", senderUsername="cbtiepnhan", dossier=DOSSIER
    )


def test_tampered_package(connector):
    signed = connector.sign(guide.send_package()).replace(b"LT_iGate", b"LT_iGatX")
    fault = refused_over_soap(
        ErrorCode.SIGNATURE_INVALID,
        connector.client().service.sendDocument,
        messageId=new_id(),
        edxmlPackage=signed,
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER,
    )
    assert "DIGEST_MISMATCH" in fault.message
    assert_nothing_stored(connector)


# ---- routing --------------------------------------------------------------------------


def test_unknown_username_names_user_and_system(connector):
    fault = refused_over_soap(ErrorCode.UNKNOWN_ACCOUNT, send, connector, "OUTGOING", username="nobody")
    assert "'nobody'" in fault.message and "eoffice-stp" in fault.message
    assert_nothing_stored(connector)


# ---- the exchange ---------------------------------------------------------------------
def test_same_message_id_with_other_content(connector):
    client = connector.client()
    message_id = new_id()
    client.service.sendDocument(
        messageId=message_id,
        edxmlPackage=connector.sign(guide.send_package()),
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER,
    )
    refused_over_soap(
        ErrorCode.DUPLICATE_MESSAGE,
        client.service.sendDocument,
        messageId=message_id,
        edxmlPackage=connector.sign(guide.send_package()),
        kind="OUTGOING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER,
    )


def test_a_finished_exchange_never_returns_to_arrived(connector):
    client = connector.client()
    send(connector, "INCOMING")
    publish(connector)
    fault = refused_over_soap(ErrorCode.ILLEGAL_TRANSITION, status, connector, StatusCode.ARRIVED)
    assert "finished" in fault.message
    assert [e.state for e in client.service.getStatus(dossierCode=guide.DOSSIER_CODE).timeline.TimelineEvent] == [
        "accepted",
        "finished",
    ]


def test_pull_faults(connector):
    client = connector.client(PULL_AGENCY)
    refused_over_soap(ErrorCode.FORBIDDEN, client.service.listPending, systemId="not-registered")
    refused_over_soap(ErrorCode.UNKNOWN_ITEM, client.service.fetchPending, systemId=PULL_AGENCY, itemId=424242)


def test_unexpected_errors_become_server_internal():
    class Context:
        method_request_string = "{urn:test}boom"
        transport = type("T", (), {"req_env": {}})()
        in_object = None

        def function(self, *args):
            raise RuntimeError("disk on fire")

    ctx = Context()
    ctx.function = lambda *args: (_ for _ in ()).throw(RuntimeError("disk on fire"))
    ctx.descriptor = type("D", (), {"no_ctx": True, "name": "boom"})()
    with pytest.raises(ConnectorFault) as caught:
        ConnectorService.call_wrapper(ctx, ())
    assert caught.value.code is ErrorCode.INTERNAL and caught.value.faultcode == "Server"
    assert "disk on fire" not in caught.value.faultstring  # internals stay in the log


# ---- malformed requests that reach spyne: each a documented fault, never a plain-text 500 ----
def envelope(body: str, namespace: str = SOAP_ENV) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{namespace}" xmlns:c="urn:vn:lienthong:connector:1"><s:Body>{body}</s:Body></s:Envelope>'
    ).encode()


@pytest.mark.parametrize(
    "body,namespace",
    [
        ("", SOAP_ENV),
        ("just text", SOAP_ENV),
        ("<s:Fault><faultcode>s:Client</faultcode><faultstring>x</faultstring></s:Fault>", SOAP_ENV),
        ("<c:getStatus/><c:getStatus/>", SOAP_ENV),
    ],
    ids=["empty-body", "text-in-body", "fault-as-request", "two-requests"],
)
def test_malformed_envelopes_are_schema_faults(connector, body, namespace):
    code, message = fault_of(post(connector, envelope(body, namespace)))
    assert code == ErrorCode.SCHEMA_INVALID.value, message


def test_a_bare_element_is_not_an_envelope(connector):
    code, message = fault_of(post(connector, b"<foo/>"))
    assert code == ErrorCode.SCHEMA_INVALID.value and "not a SOAP envelope" in message


@pytest.mark.parametrize(
    "field,value", [("receivedAt", "2022-11-26T24:00:00"), ("dueDate", "10000-01-01")], ids=["hour-24", "year-10000"]
)
def test_values_the_schema_allows_but_python_cannot_hold(connector, field, value):
    code, message = fault_of(send_raw(connector, b"x", dossier={field: value}))
    assert code == ErrorCode.SCHEMA_INVALID.value, message


def test_a_package_that_is_not_base64(connector):
    body = f"<c:updateStatus><c:messageId>{new_id()}</c:messageId><c:edxmlPackage>@@@@</c:edxmlPackage>"
    body += "</c:updateStatus>"
    code, message = fault_of(post(connector, envelope(body)))
    assert code == ErrorCode.SCHEMA_INVALID.value and "edxmlPackage is not base64: character '@' at offset 0" in message


def test_a_header_that_must_be_understood_is_refused(connector):
    """wsse:Security is understood (tests/security); any other mustUnderstand header is refused."""
    body = (
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:c="urn:vn:lienthong:connector:1"><s:Header>'
        '<r:Routing xmlns:r="urn:example:routing" s:mustUnderstand="1"/></s:Header>'
        "<s:Body><c:getStatus><c:dossierCode>x</c:dossierCode></c:getStatus></s:Body></s:Envelope>"
    )
    code, message = fault_of(post(connector, body.encode()))
    assert code == ErrorCode.MUST_UNDERSTAND.value and "Routing" in message
