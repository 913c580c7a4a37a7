"""Concurrency family, on SQLite and PostgreSQL: 20 copies of one request released at the same
moment over HTTP. Retries of the same request all get the original receipt; identical status
updates produce one state change, one timeline event and one relay."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from lxml import etree

from connector.edxml import StatusCode, build
from connector.errors import ErrorCode
from signing import sign_package
from simulators import guide
from testkit.faults import fault_of
from testkit.live import LiveConnector, row_counts, start_connector
from testkit.net import new_id
from testkit.rawsoap import TNS, authenticating, b64, envelope, post, send_document
from tests.store.conftest import postgres_url  # noqa: F401 - the PostgreSQL database fixture

COPIES = 20


@pytest.fixture(params=["sqlite", "postgresql"])
def connector(request, tmp_path) -> Iterator[LiveConnector]:
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    live, server = start_connector(tmp_path / "data", database_url=url)
    with authenticating(live):
        yield live
    server.stop()
    live.runtime.close()


def all_at_once(url: str, body: str) -> list:
    """``COPIES`` posts of ``body``, released together by a barrier."""
    barrier = threading.Barrier(COPIES)

    def one(_: int):
        barrier.wait(timeout=30)
        return post(url, body)

    with ThreadPoolExecutor(COPIES) as pool:
        return list(pool.map(one, range(COPIES)))


def receipt_of(response) -> tuple[str, str, bytes]:
    assert response.status_code == 200, response.text[:300]
    receipt = etree.fromstring(response.content).find(f".//{{{TNS}}}receipt")
    return (
        receipt.findtext(f"{{{TNS}}}exchangeId"),
        receipt.findtext(f"{{{TNS}}}state"),
        receipt.findtext(f"{{{TNS}}}signedReceipt"),
    )


def signed_send(live: LiveConnector) -> bytes:
    return sign_package(build(guide.send_package()), live.runtime.dev_keys.identity(guide.ONESTOP.organ_id))


def status_body(live: LiveConnector, message_id: str) -> str:
    package = sign_package(
        build(guide.status_package(StatusCode.ARRIVED)), live.runtime.dev_keys.identity(guide.AGENCY.organ_id)
    )
    return (
        f"<c:updateStatus><c:messageId>{message_id}</c:messageId>"
        f"<c:edxmlPackage>{b64(package)}</c:edxmlPackage></c:updateStatus>"
    )


def test_twenty_concurrent_retries_of_a_send_all_get_the_original_receipt(connector):
    before = row_counts(connector)
    body = envelope(send_document(b64(signed_send(connector)), message_id=new_id()))
    receipts = {receipt_of(response) for response in all_at_once(connector.url, body)}
    assert len(receipts) == 1  # one exchange id, one state, byte-identical signed receipts
    after = row_counts(connector)
    for table in ("exchanges", "messages", "events", "outbox"):
        assert after[table] == before[table] + 1, table


def test_twenty_concurrent_retries_of_a_status_update_make_one_change_one_event_one_relay(connector):
    assert receipt_of(post(connector.url, envelope(send_document(b64(signed_send(connector))))))[1] == "accepted"
    before = row_counts(connector)
    responses = all_at_once(connector.url, envelope(status_body(connector, new_id())))
    receipts = {receipt_of(response) for response in responses}
    assert len(receipts) == 1 and next(iter(receipts))[1] == "arrived"
    after = row_counts(connector)
    assert (after["events"], after["outbox"], after["messages"]) == (
        before["events"] + 1,
        before["outbox"] + 1,
        before["messages"] + 1,
    )
    timeline = connector.runtime.store.timeline(next(iter(receipts))[0])
    assert [event.status_code for event in timeline].count("01") == 1


def test_twenty_identical_statuses_under_different_message_ids_make_one_change(connector):
    assert receipt_of(post(connector.url, envelope(send_document(b64(signed_send(connector))))))[1] == "accepted"
    before = row_counts(connector)
    barrier = threading.Barrier(COPIES)
    bodies = [envelope(status_body(connector, new_id())) for _ in range(COPIES)]

    def one(body: str):
        barrier.wait(timeout=30)
        return post(connector.url, body)

    with ThreadPoolExecutor(COPIES) as pool:
        responses = list(pool.map(one, bodies))
    accepted = [r for r in responses if r.status_code == 200]
    refused = {fault_of(r).code for r in responses if r.status_code != 200}
    assert len(accepted) == 1
    # Lost the race ("changed while processed"), or came after it ("already applied").
    assert refused <= {ErrorCode.ILLEGAL_TRANSITION.value, ErrorCode.DUPLICATE_MESSAGE.value}
    after = row_counts(connector)
    assert (after["events"], after["outbox"]) == (before["events"] + 1, before["outbox"] + 1)


def test_the_same_status_package_resent_later_under_a_new_message_id_is_a_duplicate(connector):
    assert receipt_of(post(connector.url, envelope(send_document(b64(signed_send(connector))))))[1] == "accepted"
    package = sign_package(
        build(guide.status_package(StatusCode.ARRIVED)), connector.runtime.dev_keys.identity(guide.AGENCY.organ_id)
    )
    first = (
        f"<c:updateStatus><c:messageId>{new_id()}</c:messageId>"
        f"<c:edxmlPackage>{b64(package)}</c:edxmlPackage></c:updateStatus>"
    )
    assert receipt_of(post(connector.url, envelope(first)))[1] == "arrived"
    before = row_counts(connector)
    again = first.replace(first.split("<c:messageId>")[1].split("<")[0], new_id())
    assert fault_of(post(connector.url, envelope(again))).code == ErrorCode.DUPLICATE_MESSAGE.value
    assert row_counts(connector) == before
