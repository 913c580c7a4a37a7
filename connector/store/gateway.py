"""The store's base: the engine, transactions and the helpers every part of ``Store`` shares.

``Store`` (``store.py``) is this base with one part per concern: ``directories`` (the
directory and the request path's lookups), ``exchanges`` (exchanges, packages, timelines,
idempotency), ``deliveries`` (the outbox, attempts, per-partner queues), ``pulls`` (a pull
partner's fetches and acknowledgements) and ``activity`` (counts over time, for the console's
charts). Every write is one transaction (``_tx``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from connector.errors import StoreUnavailableError
from connector.exchange.directory import DeliveryMode
from connector.exchange.states import DocumentKind, ExchangeState
from connector.store import directory_cache, migrate, search, statements
from connector.store import evidence as ev_log
from connector.store import tables as t
from connector.store.operators import OperatorStore
from connector.store.outbox import aware
from connector.store.records import (
    OutboxItem,
    OutboxOperation,
    OutboxState,
    PackageBlob,
    StoreConflictError,
    StoredEvent,
    StoredExchange,
    StoredMessage,
    columns,
)

log = logging.getLogger(__name__)
_UNAVAILABLE = (OperationalError, InterfaceError)  # the database is down, unreachable, full or read-only
OUTBOX_CHANNEL = "connector_outbox"  # PostgreSQL NOTIFY channel: a committed transaction queued items


def as_record(cls: type, row: Any) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: (aware(v) if isinstance(v, datetime) else v) for k, v in row._mapping.items() if k in names}
    if cls is StoredExchange:
        values["kind"] = DocumentKind(values["kind"])
        values["state"] = ExchangeState(values["state"])
    if cls is StoredEvent:
        values["state"] = ExchangeState(values["state"])
    if cls is OutboxItem:
        values["mode"] = DeliveryMode(values["mode"])
        values["state"] = OutboxState(values["state"])
        values["operation"] = OutboxOperation(values["operation"])
    return cls(**values)


SQLITE_BUSY_TIMEOUT = 30  # seconds a request waits for another process's SQLite write lock
CHECK_LOCK_WAIT = 2.0  # seconds /health/ready waits for it: a locked database says 503 quickly


class Gateway:
    """The engine and the transaction helpers; ``Store`` adds the operations."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, **_engine_options(url))
        self._postgresql = self.engine.dialect.name == "postgresql"
        self._dialect = postgresql if self._postgresql else sqlite
        if not self._postgresql:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._directory = directory_cache.DirectoryCache(self._read)
        # SQLite has one writer at a time; a thread that finds the database locked sleeps in
        # SQLite's busy handler (1 ms, then longer) even after the lock is free. Writers of this
        # process queue on a lock instead: 4 concurrent clients got ~20 % more sends/s, with
        # less CPU per send. Other processes still meet the busy timeout.
        self._writer: contextlib.AbstractContextManager[Any] = (
            contextlib.nullcontext() if self._postgresql else threading.RLock()
        )
        self.evidence = ev_log.EvidenceLog(self._read, self._tx)
        """The evidence log's reading side and signed heads; records are appended by the writes below."""
        self.operators = OperatorStore(self._read, self._tx)
        """Admin console accounts and sessions."""
        self._outbox_listeners: list[Callable[[frozenset[str]], None]] = []
        self._queued = threading.local()  # the partner systems the current transaction queued items for
        self._fts: bool | None = None  # SQLite: has migration 0011 made the FTS5 table? (search.py)

    def create_schema(self) -> None:
        """Bring the schema to the head migration (``connector/store/migrate.py``): creates it in
        an empty database, upgrades an older one."""
        try:
            migrate.upgrade_schema(self.engine)
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"the exchange store failed: {exc.orig}") from exc
        self._fts = None

    def _search_index(self) -> bool:
        """Whether exchanges are indexed in SQLite's FTS5 table (never on PostgreSQL, whose index
        is on the column itself); asked once."""
        if self._fts is None:
            if self._postgresql:
                self._fts = False
            else:
                with self._read() as conn:
                    self._fts = search.has_sqlite_index(conn)
        return self._fts

    def close(self) -> None:
        self.engine.dispose()

    def check_writable(self, lock_wait: float = CHECK_LOCK_WAIT) -> None:
        """Commit a write that changes nothing (the schema's version row, rewritten as it is):
        raises ``StoreUnavailableError`` when the database cannot be reached or written – a
        rolled-back write would pass on a full disk, since it never reaches the file. A SQLite
        lock held by another process is waited for ``lock_wait`` seconds, not the requests' 30."""
        try:
            with self._writer, self.engine.connect() as conn:
                sqlite = conn.dialect.name == "sqlite"
                raw = conn.connection.dbapi_connection if sqlite else None
                if raw is not None:  # on the DB-API connection: SQLAlchemy would autobegin
                    raw.execute(f"PRAGMA busy_timeout = {int(lock_wait * 1000)}")
                try:
                    with conn.begin():
                        conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
                finally:
                    if raw is not None:
                        raw.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT * 1000}")
        except DBAPIError as exc:
            raise StoreUnavailableError(f"the exchange store is not writable: {exc.orig}") from exc

    def on_outbox(self, listener: Callable[[frozenset[str]], None]) -> None:
        """Call ``listener`` with the partner systems of the items a committed transaction of
        this process queued (the delivery worker wakes on it; other nodes hear PostgreSQL's NOTIFY)."""
        self._outbox_listeners.append(listener)

    def _queued_for(self, conn: Connection, systems: set[str]) -> None:
        """This transaction queues items for ``systems``: tell listeners once it commits."""
        self._queued.systems = getattr(self._queued, "systems", set()) | systems
        if self._postgresql:
            for system_id in sorted(systems):
                conn.execute(
                    text("SELECT pg_notify(:channel, :system)"), {"channel": OUTBOX_CHANNEL, "system": system_id}
                )

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        self._queued.systems = set()
        try:
            with self._writer, self.engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise StoreConflictError(str(exc.orig)) from exc
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"the exchange store failed: {exc.orig}") from exc
        finally:
            queued, self._queued.systems = self._queued.systems, set()
        if queued:
            for listener in self._outbox_listeners:
                listener(frozenset(queued))

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"the exchange store failed: {exc.orig}") from exc

    def _insert_ignore(self, conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
        """Insert rows whose key may already exist (content-addressed data)."""
        if not rows:
            return
        conn.execute(statements.insert_ignoring(conn.dialect.name, table), rows)

    def _upsert(self, conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table)
        keys = [c.name for c in table.primary_key.columns]
        changes = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
        conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=changes), rows)

    def _one(self, table: Any, column: Any, value: str) -> Any:
        with self._read() as conn:
            return conn.execute(statements.lookup(table, column.name), {"key": value}).first()

    def _add_event(self, conn: Connection, exchange_id: str, ev: StoredEvent) -> None:
        conn.execute(
            statements.insert_into(t.events), {"exchange_id": exchange_id, **columns(ev), "state": ev.state.value}
        )


def column_value(value: Any) -> Any:
    if isinstance(value, dict):  # SystemEntry.auth (asdict of PartnerAuth)
        return json.dumps({k: column_value(v) for k, v in value.items() if v is not None})
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):  # SystemEntry.headers
        return json.dumps(dict(value))
    if isinstance(value, tuple):  # SystemEntry.agencies, .networks, OrganizationEntry.aliases
        return ";".join(value)
    return value.value if hasattr(value, "value") else value


def sized(package: PackageBlob | None) -> tuple[str, int] | None:
    return (package.digest, len(package.data)) if package is not None else None


def receipt_of(message: StoredMessage | None) -> tuple[str, str, bytes] | None:
    return (message.message_id, message.operation, message.receipt) if message is not None else None


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # One file shared by the request threads and the delivery worker; a file never "drops"
        # a connection, so no ping before each checkout.
        return {"connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT}}
    # A server may restart under us: ping pooled connections before use.
    return {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
