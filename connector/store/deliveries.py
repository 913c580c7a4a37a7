"""The outbox in the store: claiming due items under a lease, recording attempts, per-partner
queue state (pause, breaker), listings and an operator's retry. The statements themselves are
in ``outbox.py``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from connector.exchange.directory import DeliveryMode
from connector.store import outbox as ob
from connector.store import tables as t
from connector.store.gateway import Gateway, as_record
from connector.store.records import (
    STATE_AFTER,
    AttemptOutcome,
    BreakerState,
    EvidenceKind,
    OutboxItem,
    OutboxState,
    OutboxStats,
    PartnerQueue,
)

MAX_ITEM_ID = 2**31 - 1  # outbox.item_id is a 32-bit INTEGER on PostgreSQL


class OutboxGateway(Gateway):
    def claim_due(
        self, system_id: str, now: datetime, lease_seconds: float, node_id: str | None = None
    ) -> OutboxItem | None:
        """Take ``system_id``'s next due push item for one attempt, under a lease held by
        ``node_id``: the item is out of the due range until the lease ends, and comes back by
        itself if its worker dies (at once when that worker restarts: ``reclaim_leases``). One
        statement whose cost does not grow with the backlog (``connector/store/outbox.py``)."""
        lease = now + timedelta(seconds=lease_seconds)
        with self._tx() as conn:
            row = conn.execute(ob.claim_statement(system_id, now, lease, self._postgresql, node_id)).first()
        return as_record(OutboxItem, row) if row else None

    def reclaim_leases(self, node_id: str, now: datetime) -> int:
        """A restarted worker takes back what its previous incarnation (the same ``node_id``) had
        in flight when it died: those items are due at once. Returns how many."""
        o = t.outbox
        with self._tx() as conn:
            return conn.execute(
                update(o)
                .where(o.c.leased_by == node_id, o.c.state == OutboxState.PENDING.value, o.c.lease_until > now)
                .values(lease_until=None, leased_by=None, next_attempt_at=now, updated_at=now)
            ).rowcount

    def listen_outbox(self, wake: Callable[[Iterable[str]], None], stop: threading.Event) -> None:
        """PostgreSQL only: call ``wake`` with the partners other processes queued items for
        (``NOTIFY``), until ``stop`` is set (``connector/store/notify.py``)."""
        from connector.store.notify import listen

        listen(self.engine.url, wake, stop)

    def finish_attempt(
        self,
        item_id: int,
        outcome: AttemptOutcome,
        at: datetime,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
        partner_reference: str | None = None,
        duration_ms: int | None = None,
    ) -> None:
        """Record the attempt, move the item to the state its outcome leads to, release the lease;
        a retry takes the later items of its exchange and partner along to its next attempt."""
        values: dict[str, Any] = {
            "state": STATE_AFTER[outcome].value,
            "lease_until": None,
            "leased_by": None,
            "updated_at": at,
            "attempts": t.outbox.c.attempts + 1,
        }
        if error is not None:
            values["last_error"] = error
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        if partner_reference is not None:
            values["partner_reference"] = partner_reference
        with self._tx() as conn:
            system_id = conn.execute(
                update(t.outbox).where(t.outbox.c.item_id == item_id).values(**values).returning(t.outbox.c.system_id)
            ).scalar()
            conn.execute(
                insert(t.attempts).values(
                    item_id=item_id,
                    system_id=system_id,
                    at=at,
                    outcome=outcome.value,
                    error=error,
                    duration_ms=duration_ms,
                )
            )
            if outcome is AttemptOutcome.RETRY and next_attempt_at is not None:
                ob.push_followers(conn, item_id, next_attempt_at)
            self.evidence.append_delivery(conn, item_id, at, outcome.value, error)

    def release(self, item_id: int, now: datetime) -> None:
        """Hand a claimed item back untried: due again at ``now``."""
        with self._tx() as conn:
            conn.execute(
                update(t.outbox)
                .where(t.outbox.c.item_id == item_id, t.outbox.c.state == OutboxState.PENDING.value)
                .values(lease_until=None, next_attempt_at=now, updated_at=now)
            )

    def push_systems(self) -> list[str]:
        """The partner systems the worker calls (mode push), in a stable order."""
        with self._read() as conn:
            query = select(t.systems.c.system_id).where(t.systems.c.mode == DeliveryMode.PUSH.value)
            return list(conn.execute(query.order_by(t.systems.c.system_id)).scalars())

    def outbox_stats(self, now: datetime) -> list[OutboxStats]:
        """Per partner and state: count, oldest item, next attempt, in flight, pause and breaker."""
        with self._read() as conn:
            return ob.stats(conn, now)

    def partner_activity(self) -> dict[str, tuple[datetime | None, datetime | None, str | None]]:
        """Per partner: (last delivery, last failed attempt, its error), from the attempts log."""
        with self._read() as conn:
            return ob.activity(conn)

    def partner_queues(self) -> dict[str, PartnerQueue]:
        with self._read() as conn:
            return ob.queues(conn)

    def partner_queue(self, system_id: str) -> PartnerQueue:
        return self.partner_queues().get(system_id, PartnerQueue(system_id))

    def set_paused(
        self, system_id: str, paused: bool, now: datetime, reason: str | None = None, actor: str | None = None
    ) -> bool:
        """Pause or resume a partner's queue; returns False when it already was. With ``actor``
        (an operator), the change is written to the evidence log in the same transaction."""
        with self._tx() as conn:
            ob.ensure_queue(conn, system_id, now, self._dialect)
            changed = ob.set_paused(conn, system_id, paused, reason, now)
            if changed and actor is not None:
                data = {"action": "pause" if paused else "resume", "system_id": system_id, "reason": reason}
                self.evidence.append(conn, EvidenceKind.OPERATOR, now, actor, data, None)
            return changed

    def retry_dead(self, system_id: str, now: datetime, actor: str) -> list[int]:
        """Every dead letter of ``system_id`` back to the queue, due at once, and one evidence
        record per exchange naming who asked (as ``retry`` does for one item). Returns the items."""
        o = t.outbox
        with self._tx() as conn:
            rows = conn.execute(
                update(o)
                .where(o.c.system_id == system_id, o.c.state == OutboxState.DEAD.value)
                .values(state=OutboxState.PENDING.value, next_attempt_at=now, lease_until=None, updated_at=now)
                .returning(o.c.item_id, o.c.exchange_id)
            ).all()
            for item_id, exchange_id in sorted(rows):
                data = {"action": "retry", "item_id": item_id}
                self.evidence.append(conn, EvidenceKind.OPERATOR, now, actor, data, exchange_id)
            return sorted(item_id for item_id, _ in rows)

    def set_breaker(self, system_id: str, state: BreakerState, now: datetime, error: str | None = None) -> None:
        """Record a breaker transition; after it closes, the partner's items are all due at once."""
        with self._tx() as conn:
            ob.ensure_queue(conn, system_id, now, self._dialect)
            ob.set_breaker(conn, system_id, state, error, now)
            if state is BreakerState.CLOSED:
                ob.reschedule_now(conn, system_id, now)

    def note_waiting(self, system_id: str, note: str, now: datetime, after_item_id: int = 0) -> int:
        """The timeline note of every exchange with items for ``system_id`` queued after
        ``after_item_id``; returns the last item id noted, for the next call."""
        with self._tx() as conn:
            return ob.note_waiting(conn, system_id, note, now, after_item_id)

    def outbox_item(self, item_id: int) -> OutboxItem | None:
        if not 0 < item_id <= MAX_ITEM_ID:  # no such row, and the database would refuse the number
            return None
        with self._read() as conn:
            row = conn.execute(select(t.outbox).where(t.outbox.c.item_id == item_id)).first()
        return as_record(OutboxItem, row) if row else None

    def outbox_items(
        self, state: OutboxState | None = None, system_id: str | None = None, exchange_id: str | None = None
    ) -> list[OutboxItem]:
        query = select(t.outbox).order_by(t.outbox.c.item_id)
        if exchange_id:
            query = query.where(t.outbox.c.exchange_id == exchange_id)
        if state:
            query = query.where(t.outbox.c.state == state)
        if system_id:
            query = query.where(t.outbox.c.system_id == system_id)
        with self._read() as conn:
            return [as_record(OutboxItem, r) for r in conn.execute(query)]

    def outbox_page(
        self, state: OutboxState | None = None, system_id: str | None = None, offset: int = 0, limit: int = 50
    ) -> tuple[list[OutboxItem], int]:
        """One page of the outbox, newest item first (item ids only grow: a stable order), and
        how many items match in all. The page's ids are found first and only its rows read:
        a late page skips index entries, not whole rows."""
        o = t.outbox.c
        where = []
        if state:
            where.append(o.state == state)
        if system_id:
            where.append(o.system_id == system_id)
        ids = select(o.item_id).where(*where).order_by(o.item_id.desc()).offset(max(offset, 0)).limit(limit)
        query = select(t.outbox).where(o.item_id.in_(ids.scalar_subquery())).order_by(o.item_id.desc())
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(t.outbox).where(*where)).scalar_one()
            return [as_record(OutboxItem, r) for r in conn.execute(query)], int(total)

    def attempts(self, item_id: int) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(
                select(t.attempts).where(t.attempts.c.item_id == item_id).order_by(t.attempts.c.attempt_id)
            )
            return [dict(r._mapping) for r in rows]

    def retry(self, item_id: int, now: datetime, actor: str = "operator (command line)") -> bool:
        """A dead letter back to the queue, due at once; the evidence log names who asked."""
        with self._tx() as conn:
            moved = conn.execute(
                update(t.outbox)
                .where(t.outbox.c.item_id == item_id, t.outbox.c.state == OutboxState.DEAD.value)
                .values(state=OutboxState.PENDING.value, next_attempt_at=now, lease_until=None, updated_at=now)
            ).rowcount
            if moved == 1:
                exchange_id = conn.execute(
                    select(t.outbox.c.exchange_id).where(t.outbox.c.item_id == item_id)
                ).scalar_one()
                data = {"action": "retry", "item_id": item_id}
                self.evidence.append(conn, EvidenceKind.OPERATOR, now, actor, data, exchange_id)
            return moved == 1
