"""Claiming the next due item costs the same with a small or a large backlog, on SQLite and
PostgreSQL: counted as work done (SQLite virtual-machine steps, PostgreSQL rows examined in
``EXPLAIN ANALYZE``), never as time, and the query plan walks the claim index instead of scanning.

The backlog is what an outage leaves behind: items waiting for their next attempt, items of
another partner, items queued behind an earlier item of the same exchange, and the delivered
history; the one due item sits behind all of them."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert

from connector.clock import utcnow
from connector.store import AttemptOutcome, OutboxState, Store
from connector.store import tables as t
from tests.store.test_store import create

SMALL, LARGE = 8, 8_000  # items of each kind of backlog


def fill(store: Store, first: int, n: int) -> None:
    """``n`` more exchanges, each with one item of every kind of backlog."""
    now = utcnow()
    exchanges, items = [], []
    columns = {c.name: None for c in t.exchanges.columns} | {"search_text": ""}  # not searched here
    for k in range(first, first + n):
        x = f"x{k}"
        exchanges.append(
            columns
            | {
                "exchange_id": x,
                "kind": "INCOMING",
                "state": "accepted",
                "document_id": f"d{k}",
                "dossier_code": "D",
                "procedure_code": "P",
                "sender_username": "u",
                "source_organ": "s",
                "agency_organ": "a",
                "queue": "registration",
                "target_account": "v",
                "package_digest": "p" * 64,
                "created_at": now,
                "updated_at": now,
            }
        )
        row = {
            "exchange_id": x,
            "mode": "push",
            "operation": "deliverStatus",
            "payload": "{}",
            "package_digest": None,
            "attempts": 0,
            "lease_until": None,
            "last_error": None,
            "partner_reference": None,
            "created_at": now,
            "updated_at": now,
        }
        items += [
            row
            | {
                "message_id": f"{x}:late",
                "system_id": "eoffice-stp",
                "state": "pending",
                "next_attempt_at": now + timedelta(hours=1),
            },  # waiting for its next attempt
            row
            | {
                "message_id": f"{x}:queued",
                "system_id": "eoffice-stp",
                "state": "pending",
                "next_attempt_at": now + timedelta(hours=1),
            },  # behind it, waiting with it
            row
            | {
                "message_id": f"{x}:other",
                "system_id": "igate-hungyen",
                "state": "pending",
                "next_attempt_at": now - timedelta(hours=1),
            },  # another partner's, due
            row
            | {
                "message_id": f"{x}:done",
                "system_id": "eoffice-stp",
                "state": "delivered",
                "next_attempt_at": now - timedelta(hours=2),
            },  # history
        ]
    with store.engine.begin() as conn:
        conn.execute(insert(t.exchanges), exchanges)
        conn.execute(insert(t.outbox), items)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")  # what autovacuum does to a table that grew


def claim_sql(store: Store) -> tuple[str, Any]:
    """The claim exactly as the store sends it to the database (statement and parameters)."""
    seen: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    now = utcnow()
    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        item = store.claim_due("eoffice-stp", now, 60)
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    assert item is not None and item.message_id == "seed:deliverDocument"  # the due one, behind the backlog
    store.release(item.item_id, now)  # due again for the measurement
    [claim] = [s for s in seen if s[0].lstrip().upper().startswith("UPDATE")]
    return claim


def sqlite_work(store: Store, sql: str, params: Any) -> tuple[int, list[str]]:
    """Virtual-machine steps to run the claim (rolled back), and its query plan."""
    with store.engine.connect() as conn:
        plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        dbapi = conn.connection.driver_connection
        dbapi.set_progress_handler(count, 1)
        try:
            conn.exec_driver_sql(sql, params).all()
        finally:
            dbapi.set_progress_handler(None, 1)
            conn.rollback()
    return steps[0], plan


def postgresql_work(store: Store, sql: str, params: Any) -> tuple[int, list[str]]:
    """Rows the claim examined (returned or filtered away, over all loops of every scan; rolled
    back), and the plan's scan nodes."""
    with store.engine.connect() as conn:
        [[explained]] = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params).all()
        conn.rollback()
    nodes: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        nodes.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk((json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"])
    scans = [n for n in nodes if "Scan" in n["Node Type"]]
    examined = sum(n["Actual Rows"] * n["Actual Loops"] + n.get("Rows Removed by Filter", 0) for n in scans)
    return examined, [f"{n['Node Type']} {n.get('Index Name', '')} on {n.get('Relation Name')}" for n in scans]


def work(store: Store) -> tuple[int, list[str]]:
    sql, params = claim_sql(store)
    measure = postgresql_work if store.engine.dialect.name == "postgresql" else sqlite_work
    return measure(store, sql, params)


@pytest.fixture
def store(database_url):
    s = Store(database_url)
    s.create_schema()
    create(s, "seed", "doc-seed")  # the due item (its package is the one every exchange points at)
    yield s
    s.close()


def test_claim_costs_the_same_with_a_large_backlog(store):
    fill(store, 0, SMALL)
    small_work, _ = work(store)
    fill(store, SMALL, LARGE)
    large_work, plan = work(store)
    # 4 × 8,000 rows around the one due item: a claim that looked at them would show it a thousandfold.
    print(f"claim work with {SMALL} / {4 * LARGE + SMALL} items around it: {small_work} / {large_work}; plan {plan}")
    assert large_work <= 2 * small_work + 50, (small_work, large_work, plan)
    if store.engine.dialect.name == "sqlite":
        assert any("ix_outbox_claim" in step for step in plan), plan
        assert not any(step.startswith("SCAN") for step in plan), plan
    else:
        assert not any(step.startswith("Seq Scan") and step.endswith("on outbox") for step in plan), plan
        assert large_work < 100, plan


def test_several_workers_share_the_outbox_and_never_take_an_item_twice(store, database_url):
    """Two stores (as two worker processes would have) with three threads each drain one
    partner's queue at once: every item is claimed exactly once (SKIP LOCKED on PostgreSQL, the
    single-statement claim under SQLite's write lock)."""
    fill(store, 0, 60)  # 60 due items for igate-hungyen, one per exchange: all claimable in parallel
    other = Store(database_url)
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(s: Store) -> None:
        while (item := s.claim_due("igate-hungyen", utcnow(), 60)) is not None:
            s.finish_attempt(item.item_id, AttemptOutcome.DELIVERED, utcnow())
            with lock:
                claimed.append(item.item_id)

    threads = [threading.Thread(target=worker, args=(s,)) for s in (store, other) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        other.close()
    assert len(claimed) == 60 and len(set(claimed)) == 60
    assert {i.item_id for i in store.outbox_items(system_id="igate-hungyen", state=OutboxState.DELIVERED)} == set(
        claimed
    )
