"""The pull operations, for document-management systems that cannot host an endpoint: they
list their pending outbox items, fetch one with its package, and acknowledge it (delivered, or
failed and pending again). A system sees and touches only its own items; another system's item
gets the same answer as a missing one.
"""

from __future__ import annotations

from connector.auth.caller import Caller
from connector.clock import utcnow
from connector.errors import ConnectorError, ErrorCode
from connector.exchange.authorisation import require_own_system
from connector.exchange.directory import DeliveryMode
from connector.exchange.requests import PulledItem
from connector.store import OPEN_STATES, OutboxItem, Store, StoredEvent


class PullQueue:
    """A pull system's side of the outbox."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def list_pending(self, caller: Caller, system_id: str) -> list[OutboxItem]:
        """A pull system's items still to fetch or acknowledge, oldest first (its own only)."""
        require_own_system(caller, system_id)
        items = self.store.outbox_items(system_id=system_id)
        return [i for i in items if i.state in OPEN_STATES and i.mode is DeliveryMode.PULL]

    def fetch(self, caller: Caller, system_id: str, item_id: int) -> PulledItem:
        """One pending item with its package; the item becomes "fetched" until acknowledged."""
        require_own_system(caller, system_id)
        item = self._pending_item(system_id, item_id)
        self.store.mark_fetched(item.item_id, utcnow())
        fetched = self._pending_item(system_id, item_id)  # as it is now: fetched
        return PulledItem(fetched, self.store.package_bytes(item.package_digest) if item.package_digest else None)

    def acknowledge(
        self, caller: Caller, system_id: str, item_id: int, delivered: bool, reason: str | None
    ) -> OutboxItem:
        """The pull system's transport acknowledgement: delivered, or failed (back to pending)."""
        require_own_system(caller, system_id)
        item = self._pending_item(system_id, item_id)
        exchange = self.store.exchange(item.exchange_id)
        now = utcnow()
        event = None
        if delivered and exchange is not None:
            event = StoredEvent(
                now,
                exchange.state,
                system_id,
                None,
                item.package_digest,
                f"{item.operation} fetched and acknowledged by {system_id}",
            )
        if not self.store.acknowledge(item.item_id, system_id, delivered, reason, now, event):
            raise ConnectorError(
                ErrorCode.UNKNOWN_ITEM, f"item {item_id} is no longer pending for {system_id}", "itemId"
            )
        acknowledged = self.store.outbox_item(item.item_id)
        assert acknowledged is not None  # it was updated a moment ago; items are never deleted
        return acknowledged

    def _pending_item(self, system_id: str, item_id: int) -> OutboxItem:
        item = self.store.outbox_item(item_id)
        if (
            item is None
            or item.system_id != system_id
            or item.mode is not DeliveryMode.PULL
            or item.state not in OPEN_STATES
        ):
            raise ConnectorError(
                ErrorCode.UNKNOWN_ITEM, f"item {item_id} is not pending for system {system_id!r}", "itemId"
            )
        return item
