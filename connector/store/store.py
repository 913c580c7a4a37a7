"""``Store``: the one interface to persistent state (SQLAlchemy Core; SQLite or PostgreSQL).

Every state change is one transaction: an exchange with its package, attachments, first event,
idempotency record and outbox items is stored whole or not at all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, create_engine, event, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from connector.errors import ConnectorError, ErrorCode
from connector.exchange.directory import (
    Account,
    DeliveryMode,
    Directory,
    OrganizationEntry,
    Procedure,
    SystemEntry,
    SystemKind,
    UsernameMapping,
)
from connector.exchange.states import DocumentKind, ExchangeState
from connector.store import blobs, directory_cache, migrate, statements
from connector.store import evidence as ev_log
from connector.store import outbox as ob
from connector.store import tables as t
from connector.store.operators import OperatorStore
from connector.store.outbox import aware as _aware
from connector.store.records import (
    OPEN_STATES,
    STATE_AFTER,
    AttemptOutcome,
    BreakerState,
    EvidenceKind,
    NewOutboxItem,
    OutboxItem,
    OutboxOperation,
    OutboxState,
    OutboxStats,
    PackageBlob,
    PartnerQueue,
    ResultInfo,
    StoreConflict,
    StoredAttachment,
    StoredEvent,
    StoredExchange,
    StoredMessage,
    columns,
)

_OPEN = [s.value for s in OPEN_STATES]


MAX_ITEM_ID = 2**31 - 1  # outbox.item_id is a 32-bit INTEGER on PostgreSQL


class _LostRace(Exception):
    """Another writer moved the exchange first; roll the transaction back."""


def _row(cls: type, row: Any) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: (_aware(v) if isinstance(v, datetime) else v) for k, v in row._mapping.items() if k in names}
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


class Store:
    """The one gateway to persistent state, on SQLite or PostgreSQL (``url`` is a SQLAlchemy URL).

    Contract: every write is one transaction, so a caller sees a change whole or not at all;
    unique keys (message id, DocumentId) taken by a concurrent writer raise ``StoreConflict``;
    compare-and-set writes (``advance``) return False instead of overwriting another writer's
    change; an unreachable database raises ``ConnectorError(STORE_UNAVAILABLE)``. Packages and
    attachments are content-addressed by SHA-256 and never rewritten; events and attempts are
    only appended. Records go in and come out as the dataclasses of ``connector.store.records``.
    """

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

    def create_schema(self) -> None:
        """Bring the schema to the head migration (``connector/store/migrate.py``): creates it in
        an empty database, upgrades an older one."""
        try:
            migrate.upgrade_schema(self.engine)
        except OperationalError as exc:
            raise ConnectorError(ErrorCode.STORE_UNAVAILABLE, f"the exchange store failed: {exc.orig}") from exc

    def close(self) -> None:
        self.engine.dispose()

    def check_writable(self) -> None:
        """Take the write lock and change nothing (the transaction is rolled back): raises
        ``Server.StoreUnavailable`` when the database cannot be reached or written."""
        try:
            with self.engine.connect() as conn, conn.begin() as tx:
                conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
                tx.rollback()
        except DBAPIError as exc:
            raise ConnectorError(
                ErrorCode.STORE_UNAVAILABLE, f"the exchange store is not writable: {exc.orig}"
            ) from exc

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self._writer, self.engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise StoreConflict(str(exc.orig)) from exc
        except OperationalError as exc:
            raise ConnectorError(ErrorCode.STORE_UNAVAILABLE, f"the exchange store failed: {exc.orig}") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise ConnectorError(ErrorCode.STORE_UNAVAILABLE, f"the exchange store failed: {exc.orig}") from exc

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

    # ---- directories ------------------------------------------------------------------
    def import_directory(self, directory: Directory) -> dict[str, int]:
        with self._tx() as conn:
            for name, table in (
                ("organizations", t.organizations),
                ("systems", t.systems),
                ("accounts", t.accounts),
                ("username_map", t.username_map),
                ("procedures", t.procedures),
            ):
                rows = [{k: _column(v) for k, v in dataclasses.asdict(r).items()} for r in getattr(directory, name)]
                self._upsert(conn, table, rows)
            directory_cache.bump_generation(conn)
        self._directory.invalidate()
        return directory.count()

    def directory(self) -> Directory:
        with self._read() as conn:
            return Directory(
                organizations=[OrganizationEntry(**r._mapping) for r in conn.execute(select(t.organizations))],
                systems=[directory_cache.system_entry(r) for r in conn.execute(select(t.systems))],
                accounts=[Account(**r._mapping) for r in conn.execute(select(t.accounts))],
                username_map=[UsernameMapping(**r._mapping) for r in conn.execute(select(t.username_map))],
                procedures=[directory_cache.procedure_entry(r) for r in conn.execute(select(t.procedures))],
            )

    def directory_is_empty(self) -> bool:
        with self._read() as conn:
            return conn.execute(select(func.count()).select_from(t.organizations)).scalar_one() == 0

    def _one(self, table: Any, column: Any, value: str) -> Any:
        with self._read() as conn:
            return conn.execute(statements.lookup(table, column.name), {"key": value}).first()

    # The request path's lookups, from the process's snapshot (``directory_cache`` says when it
    # is refreshed).
    def organization(self, organ_id: str) -> OrganizationEntry | None:
        return self._directory.get().organizations.get(organ_id)

    def system(self, system_id: str) -> SystemEntry | None:
        return self._directory.get().systems.get(system_id)

    def system_for(self, organ_id: str, kind: SystemKind) -> SystemEntry | None:
        return self._directory.get().system_of.get((organ_id, kind))

    def account(self, username: str) -> Account | None:
        return self._directory.get().accounts.get(username)

    def mapped_username(self, onestop_username: str) -> str | None:
        return self._directory.get().username_map.get(onestop_username)

    def procedure(self, code: str) -> Procedure | None:
        return self._directory.get().procedures.get(code)

    # ---- idempotency ------------------------------------------------------------------
    def message(self, message_id: str) -> StoredMessage | None:
        row = self._one(t.messages, t.messages.c.message_id, message_id)
        return _row(StoredMessage, row) if row else None

    # ---- exchanges --------------------------------------------------------------------
    def _store_package(self, conn: Connection, blob: PackageBlob, now: datetime) -> None:
        blobs.insert_ignoring(
            conn, t.packages, [{"digest": blob.digest, "data": blob.data, "size": len(blob.data), "stored_at": now}]
        )
        blobs.insert_ignoring(
            conn, t.attachments, [{"sha256": a.sha256, "data": a.data, "size": len(a.data)} for a in blob.attachments]
        )
        self._insert_ignore(
            conn,
            t.package_attachments,
            [
                {
                    "package_digest": blob.digest,
                    "content_id": a.content_id,
                    "name": a.name,
                    "content_type": a.content_type,
                    "sha256": a.sha256,
                }
                for a in blob.attachments
            ],
        )

    def _add_event(self, conn: Connection, exchange_id: str, ev: StoredEvent) -> None:
        conn.execute(
            statements.insert_into(t.events), {"exchange_id": exchange_id, **columns(ev), "state": ev.state.value}
        )

    def _add_outbox(
        self, conn: Connection, exchange_id: str, items: Iterable[NewOutboxItem], now: datetime, new: bool = False
    ) -> None:
        """``new``: the exchange is created in this transaction, so nothing of it is queued yet."""

        # An item queued behind one that is waiting to be retried waits with it (outbox.py says why).
        def due(item: NewOutboxItem) -> datetime:
            return now if new else ob.retry_time_of_open_items(conn, exchange_id, item.system_id, now) or now

        rows = [
            columns(i)
            | {
                "mode": i.mode.value,
                "operation": i.operation.value,
                "exchange_id": exchange_id,
                "state": OutboxState.PENDING.value,
                "attempts": 0,
                "next_attempt_at": due(i),
                "created_at": now,
                "updated_at": now,
            }
            for i in items
        ]
        if rows:
            conn.execute(statements.insert_into(t.outbox), rows)

    def _add_message(self, conn: Connection, message: StoredMessage) -> None:
        conn.execute(statements.insert_into(t.messages), columns(message))

    def create_exchange(
        self,
        exchange: StoredExchange,
        package: PackageBlob,
        message: StoredMessage,
        first_event: StoredEvent,
        outbox: Iterable[NewOutboxItem],
        linked_events: Iterable[tuple[str, StoredEvent]] = (),
    ) -> None:
        """A new exchange with everything that comes with it; ``linked_events`` go into other
        exchanges' timelines in the same transaction (e.g. "replaced by ...")."""
        values = columns(exchange) | {"kind": exchange.kind.value, "state": exchange.state.value}
        with self._tx() as conn:
            self._store_package(conn, package, exchange.created_at)
            conn.execute(statements.insert_into(t.exchanges), values)
            self._record(conn, exchange.exchange_id, first_event, message, outbox, new=True)
            ev_log.append_change(conn, exchange.exchange_id, first_event, None, _sized(package), _receipt(message))
            for exchange_id, linked in linked_events:
                self._add_event(conn, exchange_id, linked)
                ev_log.append_change(conn, exchange_id, linked, linked.state, None, None)

    def advance(
        self,
        exchange_id: str,
        expected_state: ExchangeState,
        new_event: StoredEvent,
        package: PackageBlob | None,
        message: StoredMessage | None,
        outbox: Iterable[NewOutboxItem] = (),
        result: ResultInfo | None = None,
        expected_updated_at: datetime | None = None,
    ) -> bool:
        """Record an event and move the exchange to ``new_event.state`` if it is still in
        ``expected_state`` (and, when given, was last changed at ``expected_updated_at``: a change
        that keeps the state, such as a repeated status, must not race itself either). Returns
        False (and changes nothing) if another writer got there first."""
        changes: dict[str, Any] = {"state": new_event.state.value, "updated_at": new_event.at}
        if result is not None:
            changes |= {
                "result_document_id": result.document_id,
                "result_code": result.code,
                "result_issue_date": result.issue_date,
                "result_signer": result.signer,
                "result_position": result.position,
                "result_identifier": result.identifier,
                "result_package_digest": result.package_digest,
            }
        try:
            with self._tx() as conn:
                if package is not None:  # first: the exchange row may reference it
                    self._store_package(conn, package, new_event.at)
                unchanged = [t.exchanges.c.exchange_id == exchange_id, t.exchanges.c.state == expected_state.value]
                if expected_updated_at is not None:
                    unchanged.append(t.exchanges.c.updated_at == expected_updated_at)
                moved = conn.execute(update(t.exchanges).where(*unchanged).values(**changes)).rowcount
                if moved != 1:
                    raise _LostRace
                self._record(conn, exchange_id, new_event, message, outbox)
                ev_log.append_change(
                    conn, exchange_id, new_event, expected_state.value, _sized(package), _receipt(message)
                )
        except _LostRace:
            return False
        return True

    def _record(
        self,
        conn: Connection,
        exchange_id: str,
        new_event: StoredEvent,
        message: StoredMessage | None,
        outbox: Iterable[NewOutboxItem],
        new: bool = False,
    ) -> None:
        if message is not None:
            self._add_message(conn, message)
        self._add_event(conn, exchange_id, new_event)
        self._add_outbox(conn, exchange_id, outbox, new_event.at, new)

    def add_transport_event(self, exchange_id: str, ev: StoredEvent) -> None:
        with self._tx() as conn:
            self._add_event(conn, exchange_id, ev)
            ev_log.append_change(conn, exchange_id, ev, ev.state.value, None, None)

    def exchange(self, exchange_id: str) -> StoredExchange | None:
        row = self._one(t.exchanges, t.exchanges.c.exchange_id, exchange_id)
        return _row(StoredExchange, row) if row else None

    def exchange_by_document_id(self, document_id: str) -> StoredExchange | None:
        row = self._one(t.exchanges, t.exchanges.c.document_id, document_id)
        return _row(StoredExchange, row) if row else None

    def exchanges_for_dossier(self, dossier: str) -> list[StoredExchange]:
        """By dossier code or one-stop dossier number, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(t.exchanges)
                .where((t.exchanges.c.dossier_code == dossier) | (t.exchanges.c.onestop_number == dossier))
                .order_by(t.exchanges.c.created_at.desc())
            )
            return [_row(StoredExchange, r) for r in rows]

    def search_exchanges(
        self,
        text: str = "",
        state: ExchangeState | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
    ) -> list[StoredExchange]:
        """Newest first; ``text`` matches dossier code or number, DocumentId, message id or an
        organisation (sender or agency) as a substring; ``since``/``until`` bound ``created_at``."""
        x = t.exchanges.c
        query = select(t.exchanges).order_by(x.created_at.desc()).limit(limit)
        if text:
            # "/" escapes: a backslash would need doubling differently on each backend.
            literal = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
            columns = (x.dossier_code, x.onestop_number, x.document_id, x.exchange_id, x.source_organ, x.agency_organ)
            query = query.where(or_(*(c.ilike(f"%{literal}%", escape="/") for c in columns)))
        if state is not None:
            query = query.where(x.state == state.value)
        if since is not None:
            query = query.where(x.created_at >= since)
        if until is not None:
            query = query.where(x.created_at < until)
        with self._read() as conn:
            return [_row(StoredExchange, r) for r in conn.execute(query)]

    def timeline(self, exchange_id: str) -> list[StoredEvent]:
        with self._read() as conn:
            rows = conn.execute(
                select(t.events).where(t.events.c.exchange_id == exchange_id).order_by(t.events.c.event_id)
            )
            return [_row(StoredEvent, r) for r in rows]

    def package_bytes(self, digest: str) -> bytes | None:
        row = self._one(t.packages, t.packages.c.digest, digest)
        return row.data if row else None

    def package_attachments(self, digest: str) -> list[StoredAttachment]:
        with self._read() as conn:
            rows = conn.execute(
                select(t.package_attachments, t.attachments.c.data)
                .join(t.attachments, t.attachments.c.sha256 == t.package_attachments.c.sha256)
                .where(t.package_attachments.c.package_digest == digest)
            )
            return [StoredAttachment(r.content_id, r.name, r.content_type, r.sha256, r.data) for r in rows]

    # ---- outbox -----------------------------------------------------------------------
    def claim_due(self, system_id: str, now: datetime, lease_seconds: float) -> OutboxItem | None:
        """Take ``system_id``'s next due push item for one attempt, under a lease: the item is out
        of the due range until the lease ends, and comes back by itself if its worker dies. One
        statement whose cost does not grow with the backlog (``connector/store/outbox.py``)."""
        lease = now + timedelta(seconds=lease_seconds)
        with self._tx() as conn:
            row = conn.execute(ob.claim_statement(system_id, now, lease, self._postgresql)).first()
        return _row(OutboxItem, row) if row else None

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
            conn.execute(update(t.outbox).where(t.outbox.c.item_id == item_id).values(**values))
            conn.execute(
                insert(t.attempts).values(
                    item_id=item_id, at=at, outcome=outcome.value, error=error, duration_ms=duration_ms
                )
            )
            if outcome is AttemptOutcome.RETRY and next_attempt_at is not None:
                ob.push_followers(conn, item_id, next_attempt_at)
            ev_log.append_delivery(conn, item_id, at, outcome.value, error)

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

    def partner_queues(self) -> dict[str, PartnerQueue]:
        with self._read() as conn:
            return ob.queues(conn)

    def partner_queue(self, system_id: str) -> PartnerQueue:
        return self.partner_queues().get(system_id, PartnerQueue(system_id))

    def set_paused(self, system_id: str, paused: bool, now: datetime, reason: str | None = None) -> bool:
        """Pause or resume a partner's queue; returns False when it already was."""
        with self._tx() as conn:
            ob.ensure_queue(conn, system_id, now, self._dialect)
            return ob.set_paused(conn, system_id, paused, reason, now)

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
        return _row(OutboxItem, row) if row else None

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
            return [_row(OutboxItem, r) for r in conn.execute(query)]

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
                ev_log.append(conn, EvidenceKind.OPERATOR, now, actor, data, exchange_id)
            return moved == 1

    # ---- pull -------------------------------------------------------------------------
    def mark_fetched(self, item_id: int, now: datetime) -> None:
        with self._tx() as conn:
            fetched = conn.execute(
                update(t.outbox)
                .where(t.outbox.c.item_id == item_id, t.outbox.c.state == OutboxState.PENDING.value)
                .values(state=OutboxState.FETCHED.value, updated_at=now)
            ).rowcount
            if fetched == 1:
                ev_log.append_delivery(conn, item_id, now, OutboxState.FETCHED.value, None)

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
                        at=now,
                        outcome=(AttemptOutcome.DELIVERED if delivered else AttemptOutcome.RETRY).value,
                        error=reason,
                    )
                )
                ev_log.append_delivery(
                    conn, item_id, now, (AttemptOutcome.DELIVERED if delivered else AttemptOutcome.RETRY).value, reason
                )
                if event is not None:
                    exchange_id = conn.execute(
                        select(t.outbox.c.exchange_id).where(t.outbox.c.item_id == item_id)
                    ).scalar_one()
                    self._add_event(conn, exchange_id, event)
                    ev_log.append_change(conn, exchange_id, event, event.state.value, None, None)
            return moved == 1


def _column(value: Any) -> Any:
    if isinstance(value, tuple):  # SystemEntry.agencies
        return ";".join(value)
    return value.value if hasattr(value, "value") else value


def _sized(package: PackageBlob | None) -> tuple[str, int] | None:
    return (package.digest, len(package.data)) if package is not None else None


def _receipt(message: StoredMessage | None) -> tuple[str, str, bytes] | None:
    return (message.message_id, message.operation, message.receipt) if message is not None else None


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # One file shared by the request threads and the delivery worker; a file never "drops"
        # a connection, so no ping before each checkout.
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    # A server may restart under us: ping pooled connections before use.
    return {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
