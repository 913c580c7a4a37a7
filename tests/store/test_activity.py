"""``Store.activity``, the console's charts: counts per bucket computed by the database, and the
backlog derived backwards from the items open now, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from connector.exchange.directory import DeliveryMode
from connector.exchange.states import ExchangeState
from connector.store import (
    Activity,
    AttemptOutcome,
    NewOutboxItem,
    OutboxOperation,
    PackageBlob,
    Store,
    StoredEvent,
    StoredMessage,
)
from tests.store.test_store import exchange

START = datetime(2026, 5, 4, 17, 0, tzinfo=UTC)  # 00:00 on 5 May in Vietnam
HOUR = timedelta(hours=1)


def _create(store: Store, exchange_id: str, system_id: str, at: datetime) -> int:
    record = dataclasses.replace(exchange(exchange_id, f"doc-{exchange_id}"), created_at=at, updated_at=at)
    item = NewOutboxItem(
        f"{exchange_id}:deliverDocument", system_id, DeliveryMode.PUSH, OutboxOperation.DELIVER_DOCUMENT, "{}"
    )
    store.create_exchange(
        record,
        PackageBlob("p" * 64, b"<edXML/>", ()),
        StoredMessage(exchange_id, "sendDocument", "d" * 64, exchange_id, b"<receipt/>", at),
        StoredEvent(at, ExchangeState.ACCEPTED, "test"),
        [item],
    )
    return store.outbox_items(exchange_id=exchange_id)[0].item_id


def _play(store: Store) -> None:
    """Four hours from START: what each bucket should hold is worked out in the test below."""
    i1 = _create(store, "e1", "eoffice-stp", START - 30 * timedelta(minutes=1))  # open when the window starts
    i2 = _create(store, "e2", "eoffice-stp", START)  # on a bucket's first instant: that bucket
    _create(store, "e3", "igate-hungyen", START + HOUR - timedelta(microseconds=100_000))  # its last: still bucket 0
    _create(store, "e4", "eoffice-stp", START + HOUR + timedelta(minutes=10))
    i3 = store.outbox_items(exchange_id="e3")[0].item_id
    minutes = timedelta(minutes=1)
    store.finish_attempt(i1, AttemptOutcome.RETRY, START + 5 * minutes, "timeout: x", START + 10 * minutes)
    store.finish_attempt(i1, AttemptOutcome.DELIVERED, START + HOUR + 5 * minutes)
    store.finish_attempt(i2, AttemptOutcome.DEAD, START + HOUR + 30 * minutes, "Client.Rejected: no")
    store.finish_attempt(i3, AttemptOutcome.DELIVERED, START + 2 * HOUR)
    assert store.retry(i2, START + 2 * HOUR + 15 * minutes, actor="admin:an")  # back in the backlog
    store.finish_attempt(i2, AttemptOutcome.RETRY, START + 3 * HOUR + minutes, "transport: y", START + 4 * HOUR)


def _expected(starts: tuple[datetime, ...]) -> dict[str | None, Activity]:
    def activity(accepted, delivered, failed, backlog) -> Activity:
        return Activity(starts, HOUR, accepted, delivered, failed, backlog)

    return {
        None: activity((2, 1, 0, 0), (0, 1, 1, 0), (1, 1, 0, 1), (3, 2, 2, 2)),
        # For one partner, "accepted" is what was queued for it.
        "eoffice-stp": activity((1, 1, 0, 0), (0, 1, 0, 0), (1, 1, 0, 1), (2, 1, 2, 2)),
        "igate-hungyen": activity((1, 0, 0, 0), (0, 0, 1, 0), (0, 0, 0, 0), (1, 1, 0, 0)),
    }


def test_buckets_and_backlog_are_what_happened(store):
    _play(store)
    starts = tuple(START + HOUR * i for i in range(4))
    for system_id, expected in _expected(starts).items():
        assert store.activity(START, HOUR, 4, system_id) == expected, system_id


def test_sqlite_and_postgresql_give_the_same_buckets(tmp_path, postgres_url):
    answers = []
    for url in (f"sqlite:///{tmp_path / 'store.db'}", postgres_url):
        store = Store(url)
        store.create_schema()
        try:
            _play(store)
            # Six-hour buckets from the previous evening, and a window before anything happened.
            answers.append(
                [
                    store.activity(START - 6 * HOUR, 6 * HOUR, 2),
                    store.activity(START - 6 * HOUR, 6 * HOUR, 2, "eoffice-stp"),
                    store.activity(START - 10 * HOUR, HOUR, 3),
                ]
            )
        finally:
            store.close()
    assert answers[0] == answers[1]
    six_hours, partner, before = answers[0]
    assert (six_hours.accepted, six_hours.delivered, six_hours.failed) == ((1, 3), (0, 2), (0, 3))
    assert six_hours.backlog == (1, 2) and partner.backlog == (1, 2)
    assert before.accepted == (0, 0, 0) and before.backlog == (0, 0, 0)  # the open item came later


def test_an_empty_store_has_empty_buckets(store):
    nothing = store.activity(START, HOUR, 24)
    assert len(nothing.starts) == 24 and nothing.starts[-1] == START + 23 * HOUR
    assert set(nothing.accepted + nothing.delivered + nothing.failed + nothing.backlog) == {0}
