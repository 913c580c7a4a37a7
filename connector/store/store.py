"""``Store``: the one interface to persistent state (SQLAlchemy Core; SQLite or PostgreSQL).

Every state change is one transaction: an exchange with its package, attachments, first event,
idempotency record and outbox items is stored whole or not at all. The gateway is written by
concern, one module each (``gateway`` says which); callers see one ``Store``.
"""

from __future__ import annotations

from connector.store.activity import ActivityGateway
from connector.store.deliveries import OutboxGateway
from connector.store.directories import DirectoryGateway
from connector.store.exchanges import ExchangeGateway
from connector.store.pulls import PullGateway


class Store(DirectoryGateway, ExchangeGateway, OutboxGateway, PullGateway, ActivityGateway):
    """The one gateway to persistent state, on SQLite or PostgreSQL (``url`` is a SQLAlchemy URL).

    Contract: every write is one transaction, so a caller sees a change whole or not at all;
    unique keys (message id, DocumentId) taken by a concurrent writer raise ``StoreConflictError``;
    compare-and-set writes (``advance``) return False instead of overwriting another writer's
    change; an unreachable database raises ``ConnectorError(STORE_UNAVAILABLE)``. Packages and
    attachments are content-addressed by SHA-256 and never rewritten; events and attempts are
    only appended. Records go in and come out as the dataclasses of ``connector.store.records``.
    """
