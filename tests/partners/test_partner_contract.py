"""The partner contract as the simulators serve it: the checked-in WSDLs, de-duplication by
message id, and Client faults for requests that can never succeed (the connector dead-letters
those without retrying)."""

from __future__ import annotations

from datetime import date

import pytest
import requests
import zeep
from lxml import etree

from connector.edxml import build
from signing import SigningOptions, sign_package
from simulators import guide
from simulators import partner_service as wsdl
from testkit.net import new_id
from tests.partners.conftest import document_delivery, dossier

SOAP_ADDRESS = "{http://schemas.xmlsoap.org/wsdl/soap/}address"


def client_fault(call) -> zeep.exceptions.Fault:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call()
    assert caught.value.code.split(":")[-1] == "Client.Rejected"
    return caught.value


def test_checked_in_wsdls_are_what_the_generator_writes(tmp_path):
    for generated in wsdl.write(tmp_path):
        checked_in = wsdl.ROOT / "wsdl" / generated.name
        assert generated.read_bytes() == checked_in.read_bytes(), (
            f"run python -m simulators.partner_service ({generated.name})"
        )


def test_served_wsdl_names_the_configured_address_whatever_the_host_header(stack):
    for url in (stack.docmgmt_url, stack.onestop_url):
        answer = requests.get(f"{url}/soap?wsdl", headers={"Host": "attacker.example"}, timeout=10)
        assert answer.status_code == 200
        assert etree.fromstring(answer.content).find(f".//{SOAP_ADDRESS}").get("location") == f"{url}/soap"


def test_the_same_delivery_twice_returns_the_original_reference_and_changes_nothing(stack, docmgmt_service):
    sent = stack.send("INCOMING")
    delivery = document_delivery(stack, sent)

    first = docmgmt_service.deliverDocument(delivery=delivery)
    again = docmgmt_service.deliverDocument(delivery=delivery)

    assert (first.reference, first.duplicate) == (f"VBDEN-{date.today().year}-00001", "false")
    assert (again.reference, again.duplicate) == (first.reference, "true")
    assert len(stack.docmgmt.registration_queue()) == 1
    assert [c.operation for c in stack.docmgmt.link.calls()] == ["updateStatus"]  # one 01, not two
    assert stack.business_states(sent.message_id) == ["accepted", "arrived"]


def test_the_same_document_under_a_new_message_id_is_still_one_document(stack, docmgmt_service):
    sent = stack.send("INCOMING")
    first = docmgmt_service.deliverDocument(delivery=document_delivery(stack, sent))
    again = docmgmt_service.deliverDocument(delivery=document_delivery(stack, sent))
    assert (again.reference, again.duplicate) == (first.reference, "true")
    assert len(stack.docmgmt.registration_queue()) == 1


def test_an_unknown_target_account_is_a_client_fault_and_nothing_is_stored(stack, docmgmt_service):
    sent = stack.send("INCOMING")
    fault = client_fault(
        lambda: docmgmt_service.deliverDocument(delivery=document_delivery(stack, sent, targetAccount="nobody.stp"))
    )
    assert "nobody.stp" in fault.message
    assert stack.docmgmt.registration_queue() == []
    assert stack.docmgmt.link.calls() == []


@pytest.mark.parametrize(
    "package, why",
    [
        (b"%PDF-1.4 not a package", "not well-formed"),
        (b"<edXML xmlns='http://www.mic.gov.vn/TBT/QCVN_102_2016'/>", "UNSIGNED"),
    ],
)
def test_a_package_that_is_not_signed_edxml_is_a_client_fault(stack, docmgmt_service, package, why):
    sent = stack.send("INCOMING")
    fault = client_fault(
        lambda: docmgmt_service.deliverDocument(delivery=document_delivery(stack, sent, package=package))
    )
    assert why in fault.message
    assert stack.docmgmt.registration_queue() == []


def test_a_package_signed_by_someone_else_than_its_sender_is_a_client_fault(stack, docmgmt_service):
    sent = stack.send("INCOMING")
    agency_key = stack.connector.runtime.dev_keys.identity(guide.AGENCY.organ_id)
    # From the one-stop, signed with the agency's key: a valid signature, but not the sender's.
    forged = sign_package(build(guide.send_package()), agency_key, SigningOptions(check_sender=False))
    fault = client_fault(
        lambda: docmgmt_service.deliverDocument(delivery=document_delivery(stack, sent, package=forged))
    )
    assert "SIGNER_MISMATCH" in fault.message


def test_a_result_for_an_unknown_dossier_is_a_client_fault(stack, onestop_service):
    package = stack.connector.sign(guide.result_package())
    fault = client_fault(
        lambda: onestop_service.deliverResult(
            delivery={
                "messageId": new_id(),
                "exchangeId": new_id(),
                "onestopNumber": "999",
                "dossierCode": "Khong_Co-000000-0000",
                "documentId": guide.result_package().document_id,
                "numberSymbol": "22/CV_LT_MOTCUA",
                "issueDate": date(2022, 11, 26),
                "signerName": None,
                "signerPosition": None,
                "documentIdentifier": None,
                "package": package,
            }
        )
    )
    assert "Khong_Co-000000-0000" in fault.message


def test_a_result_delivered_twice_is_stored_once(stack, onestop_service):
    stack.onestop.receive(dossier())
    delivery = {
        "messageId": new_id(),
        "exchangeId": new_id(),
        "onestopNumber": "1948087",
        "dossierCode": guide.DOSSIER_CODE,
        "documentId": guide.result_package().document_id,
        "numberSymbol": "22/CV_LT_MOTCUA",
        "issueDate": date(2022, 11, 26),
        "signerName": "phochutich",
        "signerPosition": "Phó Chủ tịch",
        "documentIdentifier": guide.RESULT_IDENTIFIER,
        "package": stack.connector.sign(guide.result_package()),
    }
    first = onestop_service.deliverResult(delivery=delivery)
    again = onestop_service.deliverResult(delivery=delivery)
    assert (again.reference, first.duplicate, again.duplicate) == (first.reference, "false", "true")
    view = stack.onestop.dossier(guide.DOSSIER_CODE)
    assert view.state == "finished" and len(view.result_files) == 1


def _without_target_account(envelope: bytes) -> bytes:
    root = etree.fromstring(envelope)
    target = root.find(".//{urn:vn:lienthong:partner:docmgmt:1}targetAccount")
    target.getparent().remove(target)
    return etree.tostring(root)


@pytest.mark.parametrize(
    "spoil",
    [
        _without_target_account,
        lambda envelope: b'<!DOCTYPE x [<!ENTITY e "boom">]>' + envelope,
    ],
    ids=["missing-field", "doctype"],
)
def test_a_malformed_soap_request_is_a_client_fault_not_a_crash(stack, docmgmt_wsdl_client, spoil):
    sent = stack.send("INCOMING")
    message = docmgmt_wsdl_client.create_message(
        docmgmt_wsdl_client.service, "deliverDocument", delivery=document_delivery(stack, sent)
    )
    answer = requests.post(
        f"{stack.docmgmt_url}/soap",
        data=spoil(etree.tostring(message)),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=10,
    )
    assert answer.status_code == 500  # SOAP 1.1 faults travel as HTTP 500
    assert etree.fromstring(answer.content).findtext(".//faultcode").split(":")[-1] == "Client"
    assert stack.docmgmt.registration_queue() == []


def test_a_failure_inside_the_simulator_is_a_server_fault_so_the_connector_retries(stack):
    sent = stack.send("INCOMING")
    stack.docmgmt.db.close()  # its database is gone: not the request's fault

    [item] = [i for i in stack.deliver() if i.operation == "deliverDocument"]

    assert item.state == "pending" and item.attempts == 1  # due again later, not dead-lettered
    assert item.last_error.startswith("Server.Internal")
    assert stack.business_states(sent.message_id) == ["accepted"]
