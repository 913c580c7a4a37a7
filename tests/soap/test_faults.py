"""Every fault in the table, triggered through the real HTTP interface and checked for its code.
Nothing half-stored: after each fault the exchange store holds no trace of the request."""

from __future__ import annotations

import base64
from datetime import date

import pytest
import requests
import zeep
from lxml import etree

from connector.edxml import StatusCode, build
from connector.errors import ErrorCode
from connector.soap.service import ConnectorFault, ConnectorService
from signing import SigningOptions, sign_package
from simulators import guide
from tests.soap.conftest import new_id, start_connector
from tests.soap.test_guide_cases import DOSSIER, publish, send, status

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def raises_fault(code: ErrorCode, call, *args, **kwargs) -> zeep.exceptions.Fault:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call(*args, **kwargs)
    assert caught.value.code.split(":")[-1] == code.value, caught.value.message
    return caught.value


def send_raw(connector, package: bytes, **fields) -> requests.Response:
    dossier = {"dossierCode": guide.DOSSIER_CODE, "procedureCode": guide.PROCEDURE_CODE} | fields.pop("dossier", {})
    values = {"messageId": new_id(), "kind": "INCOMING", "senderUsername": "cbtiepnhan"} | fields
    dossier_xml = "".join(f"<c:{k}>{v}</c:{k}>" for k, v in dossier.items())
    envelope = f"""<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:c="urn:vn:lienthong:connector:1">
  <soap:Body>
    <c:sendDocument>
      <c:messageId>{values["messageId"]}</c:messageId>
      <c:package>{base64.b64encode(package).decode()}</c:package>
      <c:kind>{values["kind"]}</c:kind>
      <c:senderUsername>{values["senderUsername"]}</c:senderUsername>
      <c:dossier>{dossier_xml}</c:dossier>
    </c:sendDocument>
  </soap:Body>
</soap:Envelope>"""
    return post(connector, envelope.encode())


def post(connector, body: bytes) -> requests.Response:
    return requests.post(
        f"{connector.url}/soap",
        data=body,
        timeout=30,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"sendDocument"'},
    )


def fault_of(response: requests.Response) -> tuple[str, str]:
    assert response.status_code == 500 and response.headers["Content-Type"].startswith("text/xml")
    fault = etree.fromstring(response.content).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    return fault.findtext("faultcode").split(":")[-1], fault.findtext("faultstring")


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
    raises_fault(
        ErrorCode.NOT_EDXML,
        connector.client().service.sendDocument,
        messageId=new_id(),
        package=b"<invoice xmlns='urn:x'/>",
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER,
    )


def test_package_invalid_future_date(connector):
    package = guide.send_package()
    package.promulgation.date = date(2999, 1, 1)
    fault = raises_fault(ErrorCode.PACKAGE_INVALID, send_signed, connector, build(package))
    assert "PromulgationDate 2999/01/01 is in the future" in fault.message
    assert_nothing_stored(connector)


def send_signed(connector, data: bytes, organ_id: str = guide.ONESTOP.organ_id, **options):
    signed = sign_package(data, connector.runtime.dev_keys.identity(organ_id), SigningOptions(**options))
    return connector.client().service.sendDocument(
        messageId=new_id(), package=signed, kind="INCOMING", senderUsername="cbtiepnhan", dossier=DOSSIER
    )


def test_attachment_invalid(connector):
    data = build(guide.send_package())
    start = data.index(b"<edXML:ContentTransferEncoded>") + len(b"<edXML:ContentTransferEncoded>")
    broken = data[:start] + b"UEsDBBQAAAAIAA==" + data[data.index(b"</edXML:ContentTransferEncoded>") :]
    fault = raises_fault(ErrorCode.ATTACHMENT_INVALID, send_signed, connector, broken)
    assert "DM_1669450153.pdf" in fault.message
    assert_nothing_stored(connector)


def test_manifest_mismatch(connector):
    data = build(guide.send_package()).replace(b"<edXML:ContentId>cid:", b"<edXML:ContentId>cid:other-", 1)
    raises_fault(ErrorCode.MANIFEST_MISMATCH, send_signed, connector, data)


def test_unsigned_package(connector):
    fault = raises_fault(
        ErrorCode.SIGNATURE_INVALID,
        connector.client().service.sendDocument,
        messageId=new_id(),
        package=build(guide.send_package()),
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER,
    )
    assert "UNSIGNED" in fault.message


def test_tampered_package(connector):
    signed = connector.sign(guide.send_package()).replace(b"LT_iGate", b"LT_iGatX")
    fault = raises_fault(
        ErrorCode.SIGNATURE_INVALID,
        connector.client().service.sendDocument,
        messageId=new_id(),
        package=signed,
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER,
    )
    assert "DIGEST_MISMATCH" in fault.message
    assert_nothing_stored(connector)


def test_signed_by_another_organisation(connector):
    fault = raises_fault(
        ErrorCode.SENDER_MISMATCH,
        send_signed,
        connector,
        build(guide.send_package()),
        organ_id=guide.AGENCY.organ_id,
        check_sender=False,
    )
    assert guide.ONESTOP.organ_id in fault.message


# ---- routing --------------------------------------------------------------------------
def test_unknown_sender_organisation(connector):
    package = guide.send_package()
    package.sender.organ_id = "000.00.99.H31"  # the connector's own identity: trusted, not in the directory
    raises_fault(ErrorCode.UNKNOWN_ORGANIZATION, send_signed, connector, build(package), organ_id="000.00.99.H31")


def test_unknown_username_names_user_and_system(connector):
    fault = raises_fault(ErrorCode.UNKNOWN_ACCOUNT, send, connector, connector.client(), "OUTGOING", username="nobody")
    assert "'nobody'" in fault.message and "eoffice-stp" in fault.message
    assert_nothing_stored(connector)


def test_unknown_procedure(connector):
    client = connector.client()
    raises_fault(
        ErrorCode.UNKNOWN_PROCEDURE,
        client.service.sendDocument,
        messageId=new_id(),
        package=connector.sign(guide.send_package()),
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER | {"procedureCode": "9.999999.000.00.00.H31"},
    )


def test_procedure_without_interconnection(connector):
    client = connector.client()
    fault = raises_fault(
        ErrorCode.INTERCONNECTION_DISABLED,
        client.service.sendDocument,
        messageId=new_id(),
        package=connector.sign(guide.send_package()),
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER | {"procedureCode": "dd_2022_02"},
    )
    assert "dd_2022_02" in fault.message


# ---- the exchange ---------------------------------------------------------------------
def test_same_message_id_with_other_content(connector):
    client = connector.client()
    message_id = new_id()
    client.service.sendDocument(
        messageId=message_id,
        package=connector.sign(guide.send_package()),
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER,
    )
    raises_fault(
        ErrorCode.DUPLICATE_MESSAGE,
        client.service.sendDocument,
        messageId=message_id,
        package=connector.sign(guide.send_package()),
        kind="OUTGOING",
        senderUsername="cbtiepnhan",
        dossier=DOSSIER,
    )


def test_status_for_an_unknown_document(connector):
    raises_fault(ErrorCode.UNKNOWN_DOCUMENT, status, connector, connector.client(), StatusCode.ARRIVED)


def test_result_for_an_unknown_document(connector):
    raises_fault(ErrorCode.UNKNOWN_DOCUMENT, publish, connector, connector.client())


def test_a_finished_exchange_never_returns_to_arrived(connector):
    client = connector.client()
    send(connector, client, "INCOMING")
    publish(connector, client)
    fault = raises_fault(ErrorCode.ILLEGAL_TRANSITION, status, connector, client, StatusCode.ARRIVED)
    assert "finished" in fault.message
    assert [e.state for e in client.service.getStatus(dossierCode=guide.DOSSIER_CODE).timeline.TimelineEvent] == [
        "accepted",
        "finished",
    ]


def test_no_going_backwards(connector):
    client = connector.client()
    send(connector, client, "INCOMING")
    status(connector, client, StatusCode.ASSIGNED)
    raises_fault(ErrorCode.ILLEGAL_TRANSITION, status, connector, client, StatusCode.ARRIVED)


def test_pull_faults(connector):
    client = connector.client()
    raises_fault(ErrorCode.UNAUTHORIZED, client.service.listPending, systemId="not-registered")
    raises_fault(ErrorCode.UNKNOWN_ITEM, client.service.fetchPending, systemId="eoffice-ubnd", itemId=424242)


def test_unexpected_errors_become_server_internal():
    class Context:
        method_request_string = "{urn:test}boom"

        def function(self, *args):
            raise RuntimeError("disk on fire")

    ctx = Context()
    ctx.function = lambda *args: (_ for _ in ()).throw(RuntimeError("disk on fire"))
    ctx.descriptor = type("D", (), {"no_ctx": True})()
    with pytest.raises(ConnectorFault) as caught:
        ConnectorService.call_wrapper(ctx, ())
    assert caught.value.faultcode == ErrorCode.INTERNAL.value
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
        ("<c:getStatus/>", "http://www.w3.org/2003/05/soap-envelope"),  # SOAP 1.2
    ],
    ids=["empty-body", "text-in-body", "fault-as-request", "two-requests", "soap-12"],
)
def test_malformed_envelopes_are_schema_faults(connector, body, namespace):
    code, message = fault_of(post(connector, envelope(body, namespace)))
    assert code == ErrorCode.SCHEMA_INVALID.value, message


def test_a_bare_element_is_not_an_envelope(connector):
    code, message = fault_of(post(connector, b"<foo/>"))
    assert code == ErrorCode.SCHEMA_INVALID.value and "not a SOAP 1.1 envelope" in message


@pytest.mark.parametrize(
    "field,value", [("receivedAt", "2022-11-26T24:00:00"), ("dueDate", "10000-01-01")], ids=["hour-24", "year-10000"]
)
def test_values_the_schema_allows_but_python_cannot_hold(connector, field, value):
    code, message = fault_of(send_raw(connector, b"x", dossier={field: value}))
    assert code == ErrorCode.SCHEMA_INVALID.value, message


def test_a_package_that_is_not_base64(connector):
    body = f"""<c:updateStatus><c:messageId>{new_id()}</c:messageId><c:package>@@@@</c:package></c:updateStatus>"""
    code, message = fault_of(post(connector, envelope(body)))
    assert code == ErrorCode.SCHEMA_INVALID.value and "package is empty or not base64" in message


def test_statuses_come_from_the_side_entitled_to_them(connector):
    client = connector.client()
    send(connector, client, "INCOMING")
    registered_by_onestop = guide.status_package(StatusCode.ACCEPTED)
    registered_by_onestop.sender = guide.ONESTOP
    fault = raises_fault(
        ErrorCode.SENDER_MISMATCH,
        client.service.updateStatus,
        messageId=new_id(),
        package=connector.sign(registered_by_onestop),
    )
    assert "comes from the document's receiver 000.00.31.H31" in fault.message
    taken_back_by_agency = guide.status_package(StatusCode.TAKEN_BACK)
    fault = raises_fault(
        ErrorCode.SENDER_MISMATCH,
        client.service.updateStatus,
        messageId=new_id(),
        package=connector.sign(taken_back_by_agency),
    )
    assert "comes from the document's sender 000.00.13.H31" in fault.message


def test_a_header_that_must_be_understood_is_refused(connector):
    wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    body = (
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:c="urn:vn:lienthong:connector:1"><s:Header>'
        f'<w:Security xmlns:w="{wsse}" s:mustUnderstand="1"/></s:Header>'
        "<s:Body><c:getStatus><c:dossierCode>x</c:dossierCode></c:getStatus></s:Body></s:Envelope>"
    )
    code, message = fault_of(post(connector, body.encode()))
    assert code == ErrorCode.MUST_UNDERSTAND.value and "Security" in message
