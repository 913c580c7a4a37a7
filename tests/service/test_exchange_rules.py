"""The exchange's rules as ``ExchangeService`` enforces them: idempotency by message id, one
document once, statuses from the side entitled to them, no going backwards, one result."""

from __future__ import annotations

from connector.edxml import Organization, StatusCode
from connector.errors import ErrorCode
from connector.exchange.states import DocumentKind, ExchangeState
from simulators import guide
from testkit.faults import refused_call
from testkit.net import new_id
from tests.service.conftest import AGENCY, ONESTOP, PULL_AGENCY, result_request, send_request, status_request


def test_the_same_message_id_and_content_gets_the_original_receipt(service, signed, runtime):
    request = send_request(signed(guide.send_package()))
    first = service.send_document(request, ONESTOP)
    again = service.send_document(request, ONESTOP)
    assert again.signed == first.signed
    assert len(runtime.store.outbox_items()) == 1  # nothing was done twice


def test_the_same_message_id_with_other_content_is_a_duplicate(service, signed):
    message_id = new_id()
    service.send_document(send_request(signed(guide.send_package()), message_id=message_id), ONESTOP)
    other = send_request(signed(guide.send_package()), DocumentKind.OUTGOING, message_id=message_id)
    assert (
        "different content" in refused_call(ErrorCode.DUPLICATE_MESSAGE, service.send_document, other, ONESTOP).message
    )


def test_a_document_id_is_sent_once(service, signed):
    service.send_document(send_request(signed(guide.send_package())), ONESTOP)
    error = refused_call(
        ErrorCode.DUPLICATE_MESSAGE, service.send_document, send_request(signed(guide.send_package())), ONESTOP
    )
    assert error.field == "package/MessageHeader/DocumentId"


def test_a_status_or_result_for_an_unknown_document_is_refused(service, signed):
    refused_call(
        ErrorCode.UNKNOWN_DOCUMENT,
        service.update_status,
        status_request(signed(guide.status_package(StatusCode.ARRIVED))),
        AGENCY,
    )
    refused_call(
        ErrorCode.UNKNOWN_DOCUMENT, service.publish_result, result_request(signed(guide.result_package())), AGENCY
    )


def test_statuses_move_the_exchange_forward_and_are_relayed(service, signed, runtime):
    exchange_id = service.send_document(send_request(signed(guide.send_package())), ONESTOP).receipt.exchange_id
    receipt = service.update_status(status_request(signed(guide.status_package(StatusCode.ASSIGNED))), AGENCY).receipt
    assert receipt.state == runtime.store.exchange(exchange_id).state.value
    relayed = [i.operation for i in runtime.store.outbox_items() if i.exchange_id == exchange_id]
    assert "deliverStatus" in relayed


def test_no_going_backwards(service, signed):
    service.send_document(send_request(signed(guide.send_package())), ONESTOP)
    service.update_status(status_request(signed(guide.status_package(StatusCode.ASSIGNED))), AGENCY)
    later = status_request(signed(guide.status_package(StatusCode.ARRIVED)))
    refused_call(ErrorCode.ILLEGAL_TRANSITION, service.update_status, later, AGENCY)


def test_a_finished_exchange_never_returns_to_arrived(service, signed, runtime):
    exchange_id = service.send_document(send_request(signed(guide.send_package())), ONESTOP).receipt.exchange_id
    service.publish_result(result_request(signed(guide.result_package())), AGENCY)
    error = refused_call(
        ErrorCode.ILLEGAL_TRANSITION,
        service.update_status,
        status_request(signed(guide.status_package(StatusCode.ARRIVED))),
        AGENCY,
    )
    assert "finished" in error.message
    assert [e.state for e in runtime.store.timeline(exchange_id)] == [ExchangeState.ACCEPTED, ExchangeState.FINISHED]


def test_an_exchange_takes_one_result(service, signed):
    service.send_document(send_request(signed(guide.send_package())), ONESTOP)
    service.publish_result(result_request(signed(guide.result_package())), AGENCY)
    refused_call(
        ErrorCode.ILLEGAL_TRANSITION, service.publish_result, result_request(signed(guide.result_package())), AGENCY
    )


def test_statuses_come_from_the_side_entitled_to_them(service, signed):
    service.send_document(send_request(signed(guide.send_package())), ONESTOP)
    registered_by_onestop = guide.status_package(StatusCode.ACCEPTED)
    registered_by_onestop.sender = guide.ONESTOP
    error = refused_call(
        ErrorCode.FORBIDDEN, service.update_status, status_request(signed(registered_by_onestop)), ONESTOP
    )
    assert "comes from the document's receiver's docmgmt system at 000.00.31.H31" in error.message
    taken_back_by_agency = status_request(signed(guide.status_package(StatusCode.TAKEN_BACK)))
    error = refused_call(ErrorCode.FORBIDDEN, service.update_status, taken_back_by_agency, AGENCY)
    assert "comes from the document's sender's onestop system at 000.00.13.H31" in error.message


def test_a_result_from_another_agency_finds_no_exchange(service, signed):
    """Only the agency the exchange was routed to sees it; for another agency it does not exist."""
    service.send_document(send_request(signed(guide.send_package())), ONESTOP)
    result = guide.result_package()
    result.sender = Organization("000.00.00.H31", "UBND tỉnh Hưng Yên")
    error = refused_call(
        ErrorCode.UNKNOWN_DOCUMENT, service.publish_result, result_request(signed(result)), PULL_AGENCY
    )
    assert error.message == "no exchange for ResponseFor/DocumentId " + ", ".join(
        r.document_id for r in result.response_for if r.document_id
    )


def test_pull_operations_serve_the_callers_own_system_and_pending_items(service):
    refused_call(ErrorCode.FORBIDDEN, service.pull.list_pending, PULL_AGENCY, "not-registered")
    refused_call(ErrorCode.UNKNOWN_ITEM, service.pull.fetch, PULL_AGENCY, "eoffice-ubnd", 424242)
