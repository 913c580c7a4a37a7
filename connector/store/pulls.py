"""A pull partner's side of the outbox in the store: items fetched, and acknowledged as done or
failed (with the timeline's transport event, in the same transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from connector.store import tables as t
from connector.store.gateway import Gateway
from connector.store.records import OPEN_STATES, AttemptOutcome, OutboxState, StoredEvent

_OPEN = [s.value for s in OPEN_STATES]


class PullGateway(Gateway):
    def mark_fetched(self, item_id: int, now: datetime) -> None:
        with self._tx() as conn:
            fetched = conn.execute(
                update(t.outbox)
                .where(t.outbox.c.item_id == item_id, t.outbox.c.state == OutboxState.PENDING.value)
                .values(state=OutboxState.FETCHED.value, updated_at=now)
            ).rowcount
            if fetched == 1:
                self.evidence.append_delivery(conn, item_id, now, OutboxState.FETCHED.value, None)

    def acknowledge(
        self,
        item_id: int,
        system_id: str,
        delivered: bool,
        reason: str | None,
        now: datetime,
        event: StoredEvent | None = None,
    ) -> bool:
        """The pull partner's transport acknowledgement: done, or failed (back to pending); with
        the timeline's transport event, in the same transaction."""
        with self._tx() as conn:
            moved = conn.execute(
                update(t.outbox)
                .where(
                    t.outbox.c.item_id == item_id,
                    t.outbox.c.system_id == system_id,
                    t.outbox.c.state.in_(_OPEN),
                )
                .values(
                    state=(OutboxState.DELIVERED if delivered else OutboxState.PENDING).value,
                    last_error=None if delivered else reason,
                    attempts=t.outbox.c.attempts + 1,
                    updated_at=now,
                )
            ).rowcount
            if moved == 1:
                conn.execute(
                    insert(t.attempts).values(
                        item_id=item_id,
                        system_id=system_id,
                        at=now,
                        outcome=(AttemptOutcome.DELIVERED if delivered else AttemptOutcome.RETRY).value,
                        error=reason,
                    )
                )
                self.evidence.append_delivery(
                    conn, item_id, now, (AttemptOutcome.DELIVERED if delivered else AttemptOutcome.RETRY).value, reason
                )
                if event is not None:
                    exchange_id = conn.execute(
                        select(t.outbox.c.exchange_id).where(t.outbox.c.item_id == item_id)
                    ).scalar_one()
                    self._add_event(conn, exchange_id, event)
                    self.evidence.append_change(conn, exchange_id, event, event.state.value, None, None)
            return moved == 1
