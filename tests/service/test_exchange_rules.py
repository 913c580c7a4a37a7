"""The exchange's rules as ``ExchangeService`` enforces them: idempotency by message id, one
document once, statuses from the side entitled to them, no going backwards, one result."""

from __future__ import annotations

from connector.edxml import StatusCode
from connector.errors import ErrorCode
from connector.exchange import DocumentKind, ExchangeState
from simulators import guide
from tests.service.conftest import new_id, refused, result_request, send_request, status_request


def test_the_same_message_id_and_content_gets_the_original_receipt(service, signed, runtime):
    request = send_request(signed(guide.send_package()))
    first = service.send_document(request)
    again = service.send_document(request)
    assert again.signed == first.signed
    assert len(runtime.store.outbox_items()) == 1  # nothing was done twice


def test_the_same_message_id_with_other_content_is_a_duplicate(service, signed):
    message_id = new_id()
    service.send_document(send_request(signed(guide.send_package()), message_id=message_id))
    other = send_request(signed(guide.send_package()), DocumentKind.OUTGOING, message_id=message_id)
    assert "different content" in refused(ErrorCode.DUPLICATE_MESSAGE, service.send_document, other).message


def test_a_document_id_is_sent_once(service, signed):
    service.send_document(send_request(signed(guide.send_package())))
    error = refused(ErrorCode.DUPLICATE_MESSAGE, service.send_document, send_request(signed(guide.send_package())))
    assert error.field == "package/MessageHeader/DocumentId"


def test_a_status_or_result_for_an_unknown_document_is_refused(service, signed):
    refused(
        ErrorCode.UNKNOWN_DOCUMENT,
        service.update_status,
        status_request(signed(guide.status_package(StatusCode.ARRIVED))),
    )
    refused(ErrorCode.UNKNOWN_DOCUMENT, service.publish_result, result_request(signed(guide.result_package())))


def test_statuses_move_the_exchange_forward_and_are_relayed(service, signed, runtime):
    exchange_id = service.send_document(send_request(signed(guide.send_package()))).receipt.exchange_id
    receipt = service.update_status(status_request(signed(guide.status_package(StatusCode.ASSIGNED)))).receipt
    assert receipt.state == runtime.store.exchange(exchange_id).state.value
    relayed = [i.operation for i in runtime.store.outbox_items() if i.exchange_id == exchange_id]
    assert "deliverStatus" in relayed


def test_no_going_backwards(service, signed):
    service.send_document(send_request(signed(guide.send_package())))
    service.update_status(status_request(signed(guide.status_package(StatusCode.ASSIGNED))))
    later = status_request(signed(guide.status_package(StatusCode.ARRIVED)))
    refused(ErrorCode.ILLEGAL_TRANSITION, service.update_status, later)


def test_a_finished_exchange_never_returns_to_arrived(service, signed, runtime):
    exchange_id = service.send_document(send_request(signed(guide.send_package()))).receipt.exchange_id
    service.publish_result(result_request(signed(guide.result_package())))
    error = refused(
        ErrorCode.ILLEGAL_TRANSITION,
        service.update_status,
        status_request(signed(guide.status_package(StatusCode.ARRIVED))),
    )
    assert "finished" in error.message
    assert [e.state for e in runtime.store.timeline(exchange_id)] == [ExchangeState.ACCEPTED, ExchangeState.FINISHED]


def test_an_exchange_takes_one_result(service, signed):
    service.send_document(send_request(signed(guide.send_package())))
    service.publish_result(result_request(signed(guide.result_package())))
    refused(ErrorCode.ILLEGAL_TRANSITION, service.publish_result, result_request(signed(guide.result_package())))


def test_statuses_come_from_the_side_entitled_to_them(service, signed):
    service.send_document(send_request(signed(guide.send_package())))
    registered_by_onestop = guide.status_package(StatusCode.ACCEPTED)
    registered_by_onestop.sender = guide.ONESTOP
    error = refused(ErrorCode.SENDER_MISMATCH, service.update_status, status_request(signed(registered_by_onestop)))
    assert "comes from the document's receiver 000.00.31.H31" in error.message
    taken_back_by_agency = status_request(signed(guide.status_package(StatusCode.TAKEN_BACK)))
    error = refused(ErrorCode.SENDER_MISMATCH, service.update_status, taken_back_by_agency)
    assert "comes from the document's sender 000.00.13.H31" in error.message


def test_a_result_must_come_from_the_agency_the_exchange_was_routed_to(service, signed):
    service.send_document(send_request(signed(guide.send_package())))
    result = guide.result_package()
    result.sender = guide.ONESTOP
    refused(ErrorCode.SENDER_MISMATCH, service.publish_result, result_request(signed(result)))


def test_pull_operations_need_a_registered_system_and_a_pending_item(service):
    refused(ErrorCode.UNAUTHORIZED, service.list_pending, "not-registered")
    refused(ErrorCode.UNKNOWN_ITEM, service.fetch, "eoffice-ubnd", 424242)
