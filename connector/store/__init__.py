"""The exchange store: every piece of state, behind one small interface (``Store``)."""

from connector.store.store import OutboxItem, Store, StoredEvent, StoredExchange

__all__ = ["OutboxItem", "Store", "StoredEvent", "StoredExchange"]
