"""The console's activity charts (``Store.activity``) on a large store: 100,000 exchanges and
200,000 outbox items over the last week, on SQLite and PostgreSQL.

Each chart window is timed against the partners table's own read (``Store.outbox_stats``, a
grouped scan of the whole outbox that the page already makes), and the query plans are shown,
so a missing index is visible as a scan. Prints only.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from common import time_op
from sqlalchemy import insert, text

from connector.admin.charts import WINDOWS
from connector.admin.words import Clock
from connector.clock import utcnow
from connector.store import OutboxState, Store
from connector.store import tables as t

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
PARTNERS = [f"partner-{i:02d}" for i in range(20)]
BATCH = 5_000


def seed(store: Store, exchanges: int) -> None:
    """``exchanges`` exchanges spread evenly over 7 days, two items each (a document and a status)
    to partners in turn; 90 % delivered at the first attempt, 5 % after one failure, 3 % dead, 2 %
    waiting; operators retry 200 of the dead."""
    now = utcnow()
    step = timedelta(days=7) / exchanges
    with store.engine.begin() as conn:
        conn.execute(insert(t.packages).values(digest="p" * 64, data=b"<edXML/>", size=8, stored_at=now))
    item_id = 0
    for first in range(0, exchanges, BATCH):
        rows: dict[str, list[dict]] = {"exchanges": [], "outbox": [], "attempts": []}
        for n in range(first, min(first + BATCH, exchanges)):
            at = now - timedelta(days=7) + step * n
            exchange_id = f"x-{n:06d}"
            rows["exchanges"].append(_exchange(exchange_id, at))
            for k in range(2):
                item_id += 1
                fate = item_id % 100
                state = "pending" if fate < 2 else "dead" if fate < 5 else "delivered"
                partner = PARTNERS[item_id % len(PARTNERS)]
                rows["outbox"].append(_item(item_id, exchange_id, partner, state, at, k))
                done = at + timedelta(seconds=30)
                if fate < 10 and state != "pending":
                    outcome = "retry" if state == "delivered" else "dead"
                    rows["attempts"].append(_attempt(item_id, partner, done, outcome))
                if state == "delivered":
                    rows["attempts"].append(_attempt(item_id, partner, done + timedelta(minutes=5), "delivered"))
        with store.engine.begin() as conn:
            for table, values in rows.items():
                conn.execute(insert(t.metadata.tables[table]), values)
    for item in store.outbox_items(state=OutboxState.DEAD)[-200:]:  # the newest: in both windows
        store.retry(item.item_id, now, actor="bench")


def _exchange(exchange_id: str, at) -> dict:
    return {
        "exchange_id": exchange_id,
        "kind": "INCOMING",
        "state": "accepted",
        "document_id": f"doc-{exchange_id}",
        "dossier_code": f"HS-{exchange_id}",
        "procedure_code": "1.000001",
        "sender_username": "cbtiepnhan",
        "source_organ": "000.00.13.H31",
        "agency_organ": "000.00.31.H31",
        "queue": "registration",
        "target_account": "vanthu",
        "package_digest": "p" * 64,
        "created_at": at,
        "updated_at": at,
    }


def _item(item_id: int, exchange_id: str, system_id: str, state: str, at, k: int) -> dict:
    return {
        "item_id": item_id,
        "exchange_id": exchange_id,
        "message_id": f"{exchange_id}:{k}",
        "system_id": system_id,
        "mode": "push",
        "operation": "deliverDocument",
        "payload": "{}",
        "state": state,
        "attempts": 1,
        "next_attempt_at": at,
        "created_at": at,
        "updated_at": at,
    }


def _attempt(item_id: int, system_id: str, at, outcome: str) -> dict:
    error = None if outcome == "delivered" else "timeout: x"
    return {"item_id": item_id, "system_id": system_id, "at": at, "outcome": outcome, "error": error}


def report(name: str, store: Store) -> None:
    clock, now = Clock("Asia/Ho_Chi_Minh"), utcnow()
    reference = time_op(lambda: store.outbox_stats(now), rounds=5, number=1)
    print(f"\n{name}: outbox_stats (the partners table's read) {reference.best * 1000:.1f} ms")
    for window in WINDOWS.values():
        start = window.start(now, clock)
        for system_id in (None, PARTNERS[3]):
            read = functools.partial(store.activity, start, window.width, window.count, system_id)
            timing = time_op(read, rounds=5, number=1)
            who = system_id or "all partners"
            ratio = timing.best / reference.best
            print(f"  activity {window.key:>3} {who:<13} {timing.best * 1000:7.1f} ms  ({ratio:.2f}x outbox_stats)")
    explain = "EXPLAIN QUERY PLAN" if store.engine.dialect.name == "sqlite" else "EXPLAIN"
    since = {"since": now - timedelta(days=1)}
    with store.engine.connect() as conn:
        for sql in (
            "SELECT count(*) FROM exchanges WHERE created_at >= :since",
            "SELECT count(*) FROM outbox WHERE created_at >= :since AND system_id || '' = 'partner-03'",
            "SELECT outcome, count(*) FROM attempts WHERE at >= :since GROUP BY outcome",
            "SELECT count(*) FROM evidence WHERE kind = 'operator' AND at >= :since",
        ):
            plan = " | ".join(str(row[-1]).strip() for row in conn.execute(text(f"{explain} {sql}"), since))
            print(f"  plan: {sql[:60]:<60} {plan[:110]}")


@contextlib.contextmanager
def postgres() -> Iterator[str | None]:
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except Exception as exc:  # no server: its case is skipped
        print(f"PostgreSQL unavailable ({exc}); its case is skipped", file=sys.stderr)
        yield None
        return
    name = f"bench_console_{os.getpid()}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, postgres() as pg_url:
        for name, url in (("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}"), ("PostgreSQL", pg_url)):
            if url is None:
                continue
            store = Store(url)
            store.create_schema()
            try:
                seed(store, args.exchanges)
                if store.engine.dialect.name == "postgresql":
                    with store.engine.connect() as conn:
                        conn.execute(text("ANALYZE"))
                report(name, store)
            finally:
                store.close()


if __name__ == "__main__":
    main()
