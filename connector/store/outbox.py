"""The outbox's statements: claiming, rescheduling, per-partner queue state and statistics.

Kept apart from ``Store`` (which wraps them in transactions) because their cost is what keeps a
backlog draining. The claim is one ``UPDATE ... WHERE item_id = (SELECT ... LIMIT 1) RETURNING``
that walks ``ix_outbox_claim`` (system, state, next attempt, item) in order and stops at the first
claimable row, so it costs the same with 10 or 100,000 items pending:

- a claimed item's ``next_attempt_at`` moves to the end of its lease, so items in flight leave the
  due range instead of being stepped over (and come back by themselves if their worker dies);
- a failed item pushes the later open items of its exchange and partner along with it, and an
  item queued behind one that waits for a retry waits with it, so items that may not go out yet
  do not sit in the due range either;
- on PostgreSQL the sub-select takes ``FOR UPDATE SKIP LOCKED``: several workers share the queue
  without waiting on each other's rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, case, exists, func, insert, literal, select, update
from sqlalchemy.sql import Select, Update

from connector.exchange.directory import DeliveryMode
from connector.store import tables as t
from connector.store.records import OPEN_STATES, BreakerState, OutboxState, OutboxStats, PartnerQueue

_OPEN = [s.value for s in OPEN_STATES]
_PENDING = OutboxState.PENDING.value


def _earlier_open(outer: Any) -> Any:
    """An earlier item of the same exchange and partner is still open: ``outer`` must wait."""
    earlier = t.outbox.alias("earlier")
    return exists().where(
        (earlier.c.exchange_id == outer.c.exchange_id)
        & (earlier.c.system_id == outer.c.system_id)
        & (earlier.c.item_id < outer.c.item_id)
        & earlier.c.state.in_(_OPEN)
    )


def due_select(system_id: str, now: datetime, postgresql: bool) -> Select[Any]:
    """The next claimable push item of ``system_id``: due, not waiting for an earlier item of its
    exchange, and its partner's queue not paused."""
    o = t.outbox
    paused = exists().where((t.partner_queues.c.system_id == system_id) & t.partner_queues.c.paused)
    query = (
        select(o.c.item_id)
        .where(
            (o.c.system_id == system_id)
            & (o.c.state == _PENDING)
            & (o.c.next_attempt_at <= now)
            & (o.c.mode == DeliveryMode.PUSH.value)
            & ~_earlier_open(o)
            & ~paused
        )
        .order_by(o.c.next_attempt_at, o.c.item_id)
        .limit(1)
    )
    return query.with_for_update(skip_locked=True, of=o) if postgresql else query


def claim_statement(
    system_id: str, now: datetime, lease_until: datetime, postgresql: bool, node_id: str | None = None
) -> Update:
    o = t.outbox
    candidate = due_select(system_id, now, postgresql).scalar_subquery()
    return (
        update(o)
        .where((o.c.item_id == candidate) & (o.c.state == _PENDING) & (o.c.next_attempt_at <= now))
        .values(lease_until=lease_until, next_attempt_at=lease_until, leased_by=node_id, updated_at=now)
        .returning(*o.c)
    )


def push_followers(conn: Connection, item_id: int, next_attempt_at: datetime) -> None:
    """The later open items of ``item_id``'s exchange and partner wait at least as long as it does."""
    o = t.outbox
    head = select(o.c.exchange_id, o.c.system_id).where(o.c.item_id == item_id).subquery()
    conn.execute(
        update(o)
        .where(
            (o.c.exchange_id == select(head.c.exchange_id).scalar_subquery())
            & (o.c.system_id == select(head.c.system_id).scalar_subquery())
            & (o.c.item_id > item_id)
            & (o.c.state == _PENDING)
            & (o.c.next_attempt_at < next_attempt_at)
        )
        .values(next_attempt_at=next_attempt_at)
    )


def retry_time_of_open_items(conn: Connection, exchange_id: str, system_id: str, now: datetime) -> datetime | None:
    """When the open items of an exchange and partner are next tried, if later than ``now``
    (items in flight do not count: they may well be delivered in a moment)."""
    o = t.outbox
    latest = conn.execute(
        select(func.max(o.c.next_attempt_at)).where(
            (o.c.exchange_id == exchange_id)
            & (o.c.system_id == system_id)
            & (o.c.state == _PENDING)
            & (o.c.next_attempt_at > now)
            & (o.c.lease_until.is_(None) | (o.c.lease_until <= now))
        )
    ).scalar()
    return aware(latest)


def reschedule_now(conn: Connection, system_id: str, now: datetime) -> int:
    """Everything of a partner that is back, due at once (items in flight keep their lease)."""
    o = t.outbox
    return conn.execute(
        update(o)
        .where(
            (o.c.system_id == system_id)
            & (o.c.state == _PENDING)
            & (o.c.next_attempt_at > now)
            & (o.c.lease_until.is_(None) | (o.c.lease_until <= now))
        )
        .values(next_attempt_at=now)
    ).rowcount


def ensure_queue(conn: Connection, system_id: str, now: datetime, dialect: Any) -> None:
    conn.execute(
        dialect.insert(t.partner_queues)
        .values(
            system_id=system_id, paused=False, breaker=BreakerState.CLOSED.value, breaker_openings=0, updated_at=now
        )
        .on_conflict_do_nothing()
    )


def set_paused(conn: Connection, system_id: str, paused: bool, reason: str | None, now: datetime) -> bool:
    """Returns whether anything changed."""
    q = t.partner_queues
    return (
        conn.execute(
            update(q)
            .where((q.c.system_id == system_id) & (q.c.paused != paused))
            .values(
                paused=paused,
                paused_at=now if paused else None,
                pause_reason=reason if paused else None,
                updated_at=now,
            )
        ).rowcount
        == 1
    )


def set_breaker(conn: Connection, system_id: str, state: BreakerState, error: str | None, now: datetime) -> None:
    q = t.partner_queues
    values: dict[str, Any] = {"breaker": state.value, "breaker_since": now, "updated_at": now}
    if state is BreakerState.OPEN:
        values |= {"breaker_openings": q.c.breaker_openings + 1, "last_error": error}
    conn.execute(update(q).where(q.c.system_id == system_id).values(**values))


def note_waiting(conn: Connection, system_id: str, note: str, now: datetime, after_item_id: int) -> int:
    """One timeline event for each exchange with items for ``system_id`` queued after
    ``after_item_id``; one statement whatever the backlog. Returns the last item id noted."""
    o, x = t.outbox, t.exchanges
    waiting = (o.c.system_id == system_id) & (o.c.state == _PENDING) & (o.c.item_id > after_item_id)
    last = conn.execute(select(func.max(o.c.item_id)).where(waiting)).scalar()
    if last is None:
        return after_item_id
    exchanges = select(o.c.exchange_id).where(waiting & (o.c.item_id <= last)).distinct().subquery()
    conn.execute(
        insert(t.events).from_select(
            ["exchange_id", "at", "state", "actor", "note"],
            select(
                x.c.exchange_id, literal(now, t.events.c.at.type), x.c.state, literal("connector"), literal(note)
            ).where(x.c.exchange_id.in_(select(exchanges.c.exchange_id))),
        )
    )
    return int(last)


def queues(conn: Connection) -> dict[str, PartnerQueue]:
    return {r.system_id: _queue(r) for r in conn.execute(select(t.partner_queues))}


def _queue(row: Any) -> PartnerQueue:
    m = row._mapping
    return PartnerQueue(
        m["system_id"],
        bool(m["paused"]),
        aware(m["paused_at"]),
        m["pause_reason"],
        BreakerState(m["breaker"]),
        aware(m["breaker_since"]),
        m["breaker_openings"],
        m["last_error"],
    )


def stats(conn: Connection, now: datetime) -> list[OutboxStats]:
    """Counts and oldest item per partner and state from ``ix_outbox_stats`` alone (delivered
    items are nearly all of the table: a scan of the rows themselves cost a month-old console
    ~100 ms), then the open items' next attempt and leases, from the few pending rows."""
    o = t.outbox
    counted = conn.execute(
        select(o.c.system_id, o.c.state, func.count(), func.min(o.c.created_at))
        .group_by(o.c.system_id, o.c.state)
        .order_by(o.c.system_id, o.c.state)
    ).all()
    waiting = sorted({system_id for system_id, state, _, _ in counted if state == _PENDING})
    pending: dict[str, tuple[datetime | None, int]] = {}
    if waiting:
        free = o.c.lease_until.is_(None) | (o.c.lease_until <= now)
        rows = conn.execute(
            select(
                o.c.system_id,
                func.min(case((free, o.c.next_attempt_at))),
                func.sum(case((o.c.lease_until > now, 1), else_=0)),
            )
            .where(o.c.system_id.in_(waiting), o.c.state == _PENDING)
            .group_by(o.c.system_id)
        )
        pending = {system_id: (aware(next_at), int(in_flight or 0)) for system_id, next_at, in_flight in rows}
    known = queues(conn)
    out = []
    for system_id, state, count, oldest in counted:
        q = known.get(system_id, PartnerQueue(system_id))
        next_at, in_flight = pending.get(system_id, (None, 0)) if state == _PENDING else (None, 0)
        out.append(
            OutboxStats(
                system_id,
                OutboxState(state),
                count,
                aware(oldest),
                next_at,
                in_flight,
                q.paused,
                q.breaker,
                q.breaker_since,
            )
        )
    return out


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def activity(conn: Connection) -> dict[str, tuple[datetime | None, datetime | None, str | None]]:
    """Per partner: its last delivery, and its last failed attempt with that attempt's error.
    Two index probes per partner in the attempts log (``ix_attempts_outcome``,
    ``ix_attempts_failed``), however long the log: the partners are found by stepping through
    ``system_id`` in the index (a loose index scan; neither database skips by itself)."""
    a = t.attempts
    first = select(func.min(a.c.system_id).label("system_id")).cte("partners", recursive=True)
    following = select(func.min(a.c.system_id)).where(a.c.system_id > first.c.system_id).scalar_subquery()
    partners = first.union_all(select(following).where(first.c.system_id.is_not(None)))
    mine = a.c.system_id == partners.c.system_id
    delivered = select(func.max(a.c.at)).where(mine, a.c.outcome == "delivered").scalar_subquery()
    failed = (
        select(a.c.attempt_id).where(mine, a.c.error.is_not(None)).order_by(a.c.attempt_id.desc()).limit(1)
    ).scalar_subquery()
    latest = conn.execute(
        select(partners.c.system_id, delivered, failed).where(partners.c.system_id.is_not(None))
    ).all()
    failures = [attempt_id for _, _, attempt_id in latest if attempt_id is not None]
    errors = {
        r.attempt_id: (aware(r.at), r.error)
        for r in conn.execute(select(a.c.attempt_id, a.c.at, a.c.error).where(a.c.attempt_id.in_(failures)))
    }
    out: dict[str, tuple[datetime | None, datetime | None, str | None]] = {}
    for system_id, delivered_at, attempt_id in latest:
        if delivered_at is not None or attempt_id is not None:
            out[system_id] = (aware(delivered_at), *errors.get(attempt_id, (None, None)))
    return out
