"""``Store.outbox_stats`` on SQLite and PostgreSQL: counts per partner and state, the oldest
item, the earliest next attempt and the items under a lease."""

from __future__ import annotations

from datetime import timedelta

from connector.clock import utcnow
from connector.store import AttemptOutcome, OutboxState
from tests.store.test_store import create


def test_counts_oldest_and_in_flight_per_partner_and_state(store):
    assert store.outbox_stats(utcnow()) == []
    create(store, "m-1", "doc-1")
    create(store, "m-2", "doc-2")
    create(store, "m-3", "doc-3")
    now = utcnow()
    claimed = store.claim_due("eoffice-stp", now, 60)  # m-1 under a lease
    assert claimed is not None
    store.finish_attempt(store.outbox_items()[2].item_id, AttemptOutcome.DEAD, now, error="refused")

    stats = {(s.system_id, s.state): s for s in store.outbox_stats(now + timedelta(seconds=1))}
    assert set(stats) == {("eoffice-stp", OutboxState.PENDING), ("eoffice-stp", OutboxState.DEAD)}
    pending = stats["eoffice-stp", OutboxState.PENDING]
    items = store.outbox_items()
    assert (pending.count, pending.in_flight) == (2, 1)
    assert pending.oldest_created_at == items[0].created_at
    assert pending.next_attempt_at == min(i.next_attempt_at for i in items[:2])
    assert pending.oldest_created_at.tzinfo is not None
    assert (stats["eoffice-stp", OutboxState.DEAD].count, stats["eoffice-stp", OutboxState.DEAD].in_flight) == (1, 0)
    # Once the lease has run out, nothing is in flight.
    assert all(s.in_flight == 0 for s in store.outbox_stats(now + timedelta(seconds=120)))
