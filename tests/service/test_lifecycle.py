"""The whole document lifecycle (edXML BussinessDocType): 0 new, 1 revocation, 2 update,
3 replacement. Updates and revocations carry the DocumentId of a document already sent and are
recorded on its exchange; a replacement is a new document naming what it supersedes."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace

from connector.auth import Caller
from connector.edxml import Business, BusinessDocType, ReplacementInfo, StatusCode
from connector.errors import ErrorCode
from connector.exchange.states import ExchangeState
from simulators import guide
from testkit.faults import refused_call
from tests.service.conftest import AGENCY, ONESTOP, send_request, status_request


def amended(doc_type: BusinessDocType, reason: str, **changes):
    """The guide's document again, now as an update, revocation or replacement."""
    return replace(guide.send_package(), **({"business": Business(doc_type, reason)} | changes))


def sent(service, signed) -> str:
    return service.send_document(send_request(signed(guide.send_package())), ONESTOP).receipt.exchange_id


def test_an_update_is_recorded_on_the_original_exchange_and_relayed(service, signed, runtime):
    exchange_id = sent(service, signed)
    update = amended(BusinessDocType.UPDATE, "Bổ sung thành phần hồ sơ", subject="Hồ sơ (bản cập nhật)")
    receipt = service.send_document(send_request(signed(update)), ONESTOP).receipt
    assert receipt.exchange_id == exchange_id and receipt.state == "accepted"  # the state is unchanged
    assert "update (BussinessDocType 2): Bổ sung thành phần hồ sơ" in runtime.store.timeline(exchange_id)[-1].note
    deliveries = [i for i in runtime.store.outbox_items(exchange_id=exchange_id) if i.operation == "deliverDocument"]
    assert len(deliveries) == 2
    relayed = json.loads(deliveries[1].payload)
    assert (relayed["business_doc_type"], relayed["subject"]) == (2, "Hồ sơ (bản cập nhật)")
    assert relayed["queue"] == "registration"  # where the original went


def test_the_same_update_twice_is_a_duplicate_but_a_second_revision_is_not(service, signed):
    sent(service, signed)
    service.send_document(send_request(signed(amended(BusinessDocType.UPDATE, "lần 1"))), ONESTOP)
    again = send_request(signed(amended(BusinessDocType.UPDATE, "lần 1")))
    assert (
        "already accepted" in refused_call(ErrorCode.DUPLICATE_MESSAGE, service.send_document, again, ONESTOP).message
    )
    service.send_document(send_request(signed(amended(BusinessDocType.UPDATE, "lần 2"))), ONESTOP)


def test_a_revocation_ends_the_exchange_as_revoked(service, signed, runtime):
    exchange_id = sent(service, signed)
    receipt = service.send_document(send_request(signed(amended(BusinessDocType.REVOKE, "Thu hồi"))), ONESTOP).receipt
    assert receipt.state == ExchangeState.REVOKED == runtime.store.exchange(exchange_id).state
    later = status_request(signed(guide.status_package(StatusCode.ASSIGNED)))
    assert "revoked" in refused_call(ErrorCode.ILLEGAL_TRANSITION, service.update_status, later, AGENCY).message
    # ... but the agency's answer to the revocation (15: agreed) is still recorded
    service.update_status(status_request(signed(guide.status_package(StatusCode.CHANGE_ACCEPTED))), AGENCY)
    assert runtime.store.timeline(exchange_id)[-1].status_code == "15"
    update = send_request(signed(amended(BusinessDocType.UPDATE, "quá muộn")))
    refused_call(ErrorCode.ILLEGAL_TRANSITION, service.send_document, update, ONESTOP)


def test_an_update_or_revocation_of_an_unknown_document_is_refused(service, signed, runtime):
    for doc_type in (BusinessDocType.UPDATE, BusinessDocType.REVOKE):
        request = send_request(signed(amended(doc_type, "?")))
        error = refused_call(ErrorCode.UNKNOWN_DOCUMENT, service.send_document, request, ONESTOP)
        assert "never sent through the connector" in error.message
    assert runtime.store.outbox_items() == []


def test_only_the_documents_sender_may_revoke_it(service, signed):
    sent(service, signed)
    by_agency = send_request(signed(amended(BusinessDocType.REVOKE, "Thu hồi", sender=guide.AGENCY)))
    refused_call(ErrorCode.FORBIDDEN, service.send_document, by_agency, ONESTOP)  # not the caller's organisation
    refused_call(ErrorCode.FORBIDDEN, service.send_document, by_agency, AGENCY)  # not a one-stop system
    # A one-stop system of another organisation: the document is not its own, so it is unknown.
    other = Caller(
        dataclasses.replace(ONESTOP.system, system_id="igate-other", organ_id=guide.AGENCY.organ_id), ONESTOP.method
    )
    error = refused_call(ErrorCode.UNKNOWN_DOCUMENT, service.send_document, by_agency, other)
    assert "never sent through the connector" in error.message


def test_a_replacement_is_a_new_exchange_linked_to_what_it_replaces(service, signed, runtime):
    original_id = sent(service, signed)
    original = guide.send_package()
    info = ReplacementInfo(original.document_id, [guide.AGENCY.organ_id])
    replacement = replace(
        original,
        document_id="000.00.13.H31,2022/11/27,03/LT_iGate",
        business=Business(BusinessDocType.REPLACE, "Văn bản thay thế", replacements=[info, info]),
    )
    receipt = service.send_document(send_request(signed(replacement)), ONESTOP).receipt
    assert receipt.exchange_id != original_id
    assert f"replaces DocumentId {original.document_id}" in runtime.store.timeline(receipt.exchange_id)[0].note
    assert "replaced by DocumentId 000.00.13.H31,2022/11/27,03/LT_iGate" in runtime.store.timeline(original_id)[-1].note


def test_a_replacement_must_name_known_documents(service, signed):
    unknown = Business(BusinessDocType.REPLACE, "?", replacements=[ReplacementInfo("000.00.13.H31,2020/01/01,1/X")])
    refused_call(
        ErrorCode.UNKNOWN_DOCUMENT,
        service.send_document,
        send_request(signed(amended(BusinessDocType.REPLACE, "?", business=unknown))),
        ONESTOP,
    )
    nameless = Business(BusinessDocType.REPLACE, "?")
    refused_call(
        ErrorCode.PACKAGE_INVALID,
        service.send_document,
        send_request(signed(amended(BusinessDocType.REPLACE, "?", business=nameless))),
        ONESTOP,
    )
