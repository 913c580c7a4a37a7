"""The exchange store on SQLite and PostgreSQL: whole transactions, content addressing,
idempotency and the outbox lease."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
import zeep

from connector.clock import utcnow
from connector.errors import ErrorCode
from connector.exchange.directory import DeliveryMode
from connector.exchange.states import DocumentKind, ExchangeState
from connector.store import (
    AttemptOutcome,
    NewOutboxItem,
    OutboxOperation,
    PackageBlob,
    Store,
    StoreConflictError,
    StoredAttachment,
    StoredEvent,
    StoredExchange,
    StoredMessage,
)
from simulators import guide
from testkit.faults import documented_code
from testkit.live import start_connector
from tests.soap.test_guide_cases import publish, send, status
from tests.store.conftest import ADMIN_URL


def exchange(exchange_id: str, document_id: str) -> StoredExchange:
    now = utcnow()
    return StoredExchange(
        exchange_id=exchange_id,
        kind=DocumentKind.INCOMING,
        state=ExchangeState.ACCEPTED,
        document_id=document_id,
        document_code="02/LT_iGate",
        dossier_code=guide.DOSSIER_CODE,
        onestop_number="1948087",
        procedure_code=guide.PROCEDURE_CODE,
        procedure_name=None,
        applicant=None,
        received_at=now,
        due_date=None,
        officer_opinion=None,
        sender_username="cbtiepnhan",
        source_organ="000.00.13.H31",
        agency_organ="000.00.31.H31",
        queue="registration",
        target_account="vanthu.stp",
        package_digest="p" * 64,
        created_at=now,
        updated_at=now,
    )


def create(store: Store, exchange_id: str, document_id: str, attachment: bytes = b"%PDF-1.4 file") -> None:
    blob = PackageBlob(
        "p" * 64, b"<edXML/>", (StoredAttachment("cid:1", "a.pdf", "application/pdf", "a" * 64, attachment),)
    )
    now = utcnow()
    store.create_exchange(
        exchange(exchange_id, document_id),
        blob,
        StoredMessage(exchange_id, "sendDocument", "d" * 64, exchange_id, b"<receipt/>", now),
        StoredEvent(now, ExchangeState.ACCEPTED, "test"),
        [
            NewOutboxItem(
                f"{exchange_id}:deliverDocument",
                "eoffice-stp",
                DeliveryMode.PUSH,
                OutboxOperation.DELIVER_DOCUMENT,
                "{}",
                "p" * 64,
            )
        ],
    )


def test_an_exchange_is_stored_whole_with_package_attachments_and_outbox(store):
    create(store, "m1", "doc-1")
    assert store.exchange("m1").state is ExchangeState.ACCEPTED
    assert store.package_bytes("p" * 64) == b"<edXML/>"
    assert [a.name for a in store.package_attachments("p" * 64)] == ["a.pdf"]
    assert [i.operation for i in store.outbox_items()] == ["deliverDocument"]
    assert store.message("m1").receipt == b"<receipt/>"


def test_a_conflicting_exchange_leaves_nothing_behind(store):
    create(store, "m1", "doc-1")
    with pytest.raises(StoreConflictError):
        create(store, "m2", "doc-1")  # same DocumentId
    assert store.exchange("m2") is None
    assert store.message("m2") is None
    assert len(store.outbox_items()) == 1


def test_attachments_are_content_addressed_and_stored_once(store):
    create(store, "m1", "doc-1")
    store.advance(
        "m1",
        ExchangeState.ACCEPTED,
        StoredEvent(utcnow(), ExchangeState.ARRIVED, "t"),
        PackageBlob(
            "q" * 64, b"<other/>", (StoredAttachment("cid:2", "b.pdf", "application/pdf", "a" * 64, b"%PDF-1.4 file"),)
        ),
        None,
    )
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM attachments").scalar() == 1
        assert conn.exec_driver_sql("SELECT count(*) FROM package_attachments").scalar() == 2


def test_large_packages_and_attachments_are_stored_intact_and_once(store):
    # On SQLite, values from 1 MiB up go in through incremental blob I/O (connector/store/blobs.py).
    package, attachment = bytes(range(256)) * 12_289, b"%PDF-1.4 " + bytes(reversed(range(256))) * 8_200
    big = StoredAttachment("cid:9", "big.pdf", "application/pdf", "b" * 64, attachment)
    blob = PackageBlob("L" * 64, package, (big,))
    create(store, "m1", "doc-1")
    for state in (ExchangeState.ARRIVED, ExchangeState.TAKEN_BACK):  # the same blob twice: stored once
        current = store.exchange("m1").state
        assert store.advance("m1", current, StoredEvent(utcnow(), state, "t"), blob, None)
    assert store.package_bytes("L" * 64) == package
    assert [a.data for a in store.package_attachments("L" * 64)] == [attachment]
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM packages").scalar() == 2  # create()'s and this one
        assert conn.exec_driver_sql("SELECT count(*) FROM attachments").scalar() == 2


def test_advance_is_a_compare_and_set(store):
    create(store, "m1", "doc-1")
    event = StoredEvent(utcnow(), ExchangeState.ARRIVED, "t")
    assert store.advance("m1", ExchangeState.ACCEPTED, event, None, None)
    assert not store.advance("m1", ExchangeState.ACCEPTED, event, None, None)  # someone moved it first
    assert [e.state for e in store.timeline("m1")] == [ExchangeState.ACCEPTED, ExchangeState.ARRIVED]


def test_outbox_lease_hands_an_item_to_one_worker_at_a_time(store):
    create(store, "m1", "doc-1")
    now = utcnow()
    first = store.claim_due("eoffice-stp", now, lease_seconds=60)
    assert first is not None and store.claim_due("eoffice-stp", now, lease_seconds=60) is None
    # the worker died: after the lease the item is due again
    again = store.claim_due("eoffice-stp", now + timedelta(seconds=61), lease_seconds=60)
    assert again is not None and again.item_id == first.item_id
    store.finish_attempt(again.item_id, AttemptOutcome.DELIVERED, now, partner_reference="REG-1")
    assert store.outbox_item(again.item_id).state == "delivered"
    assert store.claim_due("eoffice-stp", now + timedelta(hours=1), 60) is None


def test_guide_case_over_http_on_postgresql(tmp_path, postgres_url):
    live, server = start_connector(tmp_path / "pg", database_url=postgres_url)
    try:
        client = live.client()
        send(live, "INCOMING")
        status(live, guide.StatusCode.ARRIVED)
        assert publish(live).state == "finished"
        assert client.service.getStatus(dossierCode=guide.DOSSIER_CODE).state == "finished"
    finally:
        server.stop()
        live.runtime.close()


def test_store_unavailable_is_a_server_fault(tmp_path, postgres_url):
    live, server = start_connector(tmp_path / "pg", database_url=postgres_url)
    live.password("igate-hungyen")  # credentials are set while the store is up
    name = postgres_url.rsplit("/", 1)[1]
    admin = psycopg.connect(ADMIN_URL, autocommit=True)
    try:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        with pytest.raises(zeep.exceptions.Fault) as caught:
            send(live, "INCOMING")
        assert documented_code(caught.value) == ErrorCode.STORE_UNAVAILABLE.value
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()
        server.stop()
        live.runtime.close()


def test_outbox_items_of_one_exchange_and_partner_go_out_in_order(store):
    create(store, "m1", "doc-1")  # item 1: deliverDocument
    now = utcnow()
    store.advance(
        "m1",
        ExchangeState.ACCEPTED,
        StoredEvent(now, ExchangeState.TAKEN_BACK, "t"),
        None,
        None,
        [NewOutboxItem("m9:deliverStatus", "eoffice-stp", DeliveryMode.PUSH, OutboxOperation.DELIVER_STATUS, "{}")],
    )
    first = store.claim_due("eoffice-stp", now, 60)
    assert first.operation == "deliverDocument"
    store.finish_attempt(
        first.item_id, AttemptOutcome.RETRY, now, error="down", next_attempt_at=now + timedelta(minutes=5)
    )
    assert store.claim_due("eoffice-stp", now + timedelta(minutes=1), 60) is None  # the status waits for its document
    second = store.claim_due("eoffice-stp", now + timedelta(minutes=6), 60)
    assert second.operation == "deliverDocument"
    store.finish_attempt(second.item_id, AttemptOutcome.DELIVERED, now)
    assert store.claim_due("eoffice-stp", now + timedelta(minutes=6), 60).operation == "deliverStatus"


def test_the_longest_message_id_fits_on_both_backends(store):
    longest = "x" * 100
    create(store, longest, "doc-1")
    assert store.outbox_items()[0].message_id == f"{longest}:deliverDocument"
