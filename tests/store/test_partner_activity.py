"""``Store.partner_activity`` on SQLite and PostgreSQL: per partner, its last delivery and its
last failed attempt with that attempt's error, from the attempts log (the partners page)."""

from __future__ import annotations

from datetime import timedelta

from connector.clock import utcnow
from connector.exchange.directory import DeliveryMode
from connector.exchange.states import ExchangeState
from connector.store import AttemptOutcome, NewOutboxItem, OutboxOperation, PackageBlob, StoredEvent, StoredMessage
from tests.store.test_store import exchange


def item(store, n: int, system_id: str, mode: DeliveryMode = DeliveryMode.PUSH) -> int:
    """A new exchange with one outbox item for ``system_id``; returns the item's id."""
    exchange_id = f"m-{n}"
    now = utcnow()
    store.create_exchange(
        exchange(exchange_id, f"doc-{n}"),
        PackageBlob("p" * 64, b"<edXML/>", ()),
        StoredMessage(exchange_id, "sendDocument", "d" * 64, exchange_id, b"<receipt/>", now),
        StoredEvent(now, ExchangeState.ACCEPTED, "test"),
        [NewOutboxItem(f"{exchange_id}:op", system_id, mode, OutboxOperation.DELIVER_DOCUMENT, "{}", "p" * 64)],
    )
    [created] = store.outbox_items(exchange_id=exchange_id)
    return created.item_id


def test_last_delivery_and_last_failure_per_partner(store):
    assert store.partner_activity() == {}
    start = utcnow()

    def at(seconds: int):
        return start + timedelta(seconds=seconds)

    first, second = item(store, 1, "eoffice-stp"), item(store, 2, "eoffice-stp")
    onestop = item(store, 3, "igate-hungyen")
    pulled, unacknowledged = (
        item(store, 4, "eoffice-ubnd", DeliveryMode.PULL),
        item(store, 5, "eoffice-ubnd", DeliveryMode.PULL),
    )
    item(store, 6, "eoffice-vanlam")  # never tried: no activity

    store.finish_attempt(first, AttemptOutcome.RETRY, at(1), error="HTTP 503", next_attempt_at=at(60))
    store.finish_attempt(first, AttemptOutcome.DELIVERED, at(2))
    store.finish_attempt(second, AttemptOutcome.RETRY, at(3), error="read timeout", next_attempt_at=at(60))
    store.finish_attempt(onestop, AttemptOutcome.DELIVERED, at(4))
    store.finish_attempt(onestop, AttemptOutcome.DELIVERED, at(5))  # a second delivery (a lease ran out)
    for pull in (pulled, unacknowledged):
        store.mark_fetched(pull, at(6))
    store.acknowledge(unacknowledged, "eoffice-ubnd", False, None, at(7))  # failed, but gave no reason
    assert store.partner_activity() == {
        "eoffice-stp": (at(2), at(3), "read timeout"),
        "igate-hungyen": (at(5), None, None),
    }

    store.acknowledge(pulled, "eoffice-ubnd", True, None, at(8))
    store.acknowledge(unacknowledged, "eoffice-ubnd", False, "FAIL: no such account", at(9))
    store.finish_attempt(second, AttemptOutcome.DEAD, at(10), error="refused")
    activity = store.partner_activity()
    assert activity["eoffice-ubnd"] == (at(8), at(9), "FAIL: no such account")
    assert activity["eoffice-stp"] == (at(2), at(10), "refused")
    assert set(activity) == {"eoffice-stp", "igate-hungyen", "eoffice-ubnd"}
    assert all(t.tzinfo is not None for row in activity.values() for t in row[:2] if t is not None)
