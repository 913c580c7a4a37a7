"""Exchanges in the store: created with their package, attachments, first event, idempotency
record and outbox items in one transaction; moved by compare-and-set; read with their timelines."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from connector.errors import SimpleError
from connector.exchange.directory import DeliveryMode
from connector.exchange.states import ExchangeState
from connector.store import blobs, search, statements
from connector.store import outbox as ob
from connector.store import tables as t
from connector.store.evidence_facts import exchange_facts, result_facts
from connector.store.gateway import Gateway, as_record, receipt_of, sized
from connector.store.records import (
    NewOutboxItem,
    OutboxState,
    PackageBlob,
    ResultInfo,
    StoredAttachment,
    StoredEvent,
    StoredExchange,
    StoredMessage,
    columns,
)

_SQLITE_REREADS = (0.0, 0.01, 0.05, 0.2)  # seconds to wait before each read of a race's winner


class _LostRaceError(SimpleError):
    """Another writer moved the exchange first; roll the transaction back."""


class ExchangeGateway(Gateway):
    def message(self, message_id: str) -> StoredMessage | None:
        row = self._one(t.messages, t.messages.c.message_id, message_id)
        return as_record(StoredMessage, row) if row else None

    def message_after_conflict(self, message_id: str) -> StoredMessage | None:
        """The idempotency record of the request that won a race this one lost (a
        ``StoreConflictError`` or a compare-and-set that moved nothing). The winner's commit
        caused the conflict, but on SQLite a fresh read has once been seen to miss it (one of 20
        identical concurrent sends, in a full test run): that quirk is the database's, so it is
        handled here, by reading again briefly before concluding that there is none."""
        for pause in (0.0,) if self._postgresql else _SQLITE_REREADS:
            time.sleep(pause)
            found = self.message(message_id)
            if found is not None:
                return found
        return None

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
            self._queued_for(conn, {row["system_id"] for row in rows if row["mode"] == DeliveryMode.PUSH.value})

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
        values["search_text"] = search.search_text(values)
        with self._tx() as conn:
            self._store_package(conn, package, exchange.created_at)
            conn.execute(statements.insert_into(t.exchanges), values)
            if self._search_index():
                search.index_rows(conn, [{"exchange_id": exchange.exchange_id, "search_text": values["search_text"]}])
            self._record(conn, exchange.exchange_id, first_event, message, outbox, new=True)
            facts = {"exchange": exchange_facts(values)}
            self.evidence.append_change(
                conn, exchange.exchange_id, first_event, None, sized(package), receipt_of(message), facts
            )
            for exchange_id, linked in linked_events:
                self._add_event(conn, exchange_id, linked)
                self.evidence.append_change(conn, exchange_id, linked, linked.state, None, None)

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
                    raise _LostRaceError
                if result is not None and result.code:
                    self._refold(conn, exchange_id)
                self._record(conn, exchange_id, new_event, message, outbox)
                facts = {"result": result_facts(changes)} if result is not None else None
                self.evidence.append_change(
                    conn, exchange_id, new_event, expected_state.value, sized(package), receipt_of(message), facts
                )
        except _LostRaceError:
            return False
        return True

    def _refold(self, conn: Connection, exchange_id: str) -> None:
        """Search the exchange by its result's Số ký hiệu too, from now on."""
        x = t.exchanges.c
        row = conn.execute(select(*(x[n] for n in search.SEARCHED)).where(x.exchange_id == exchange_id)).one()
        text = search.search_text(row._mapping)
        conn.execute(update(t.exchanges).where(x.exchange_id == exchange_id).values(search_text=text))
        if self._search_index():
            search.reindex_row(conn, exchange_id, text)

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
            self.evidence.append_change(conn, exchange_id, ev, ev.state.value, None, None)

    def exchange(self, exchange_id: str) -> StoredExchange | None:
        row = self._one(t.exchanges, t.exchanges.c.exchange_id, exchange_id)
        return as_record(StoredExchange, row) if row else None

    def exchange_by_document_id(self, document_id: str) -> StoredExchange | None:
        row = self._one(t.exchanges, t.exchanges.c.document_id, document_id)
        return as_record(StoredExchange, row) if row else None

    def exchanges_for_dossier(self, dossier: str) -> list[StoredExchange]:
        """By dossier code or one-stop dossier number, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(t.exchanges)
                .where((t.exchanges.c.dossier_code == dossier) | (t.exchanges.c.onestop_number == dossier))
                .order_by(t.exchanges.c.created_at.desc())
            )
            return [as_record(StoredExchange, r) for r in rows]

    def search_exchanges(
        self,
        text: str = "",
        state: ExchangeState | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[StoredExchange]:
        """Newest first (ties by id: pages do not overlap); ``text`` matches, as a substring
        without regard to case or diacritics, the applicant, the document's code (Số ký hiệu),
        dossier code or number, DocumentId, message id or an organisation (sender or agency)
        (``search.py``); ``since``/``until`` bound ``created_at``. The page's ids come first,
        from an index where the filters allow (``ix_exchanges_created``,
        ``ix_exchanges_state_created``), and only its rows are read: a late page skips index
        entries, not whole rows."""
        x = t.exchanges.c
        newest_first = (x.created_at.desc(), x.exchange_id.desc())
        ids = (
            select(x.exchange_id)
            .where(*self._search_filter(text, state, since, until))
            .order_by(*newest_first)
            .offset(max(offset, 0))
            .limit(limit)
        )
        query = select(t.exchanges).where(x.exchange_id.in_(ids.scalar_subquery())).order_by(*newest_first)
        with self._read() as conn:
            return [as_record(StoredExchange, r) for r in conn.execute(query)]

    def count_exchanges(
        self,
        text: str = "",
        state: ExchangeState | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """How many exchanges ``search_exchanges`` would page through with the same filters."""
        query = select(func.count()).select_from(t.exchanges).where(*self._search_filter(text, state, since, until))
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def _search_filter(
        self, text: str, state: ExchangeState | None, since: datetime | None, until: datetime | None
    ) -> list[Any]:
        x = t.exchanges.c
        where: list[Any] = []
        found = search.text_filter(text, fts=self._search_index())
        if found is not None:
            where.append(found)
        if state is not None:
            where.append(x.state == state.value)
        if since is not None:
            where.append(x.created_at >= since)
        if until is not None:
            where.append(x.created_at < until)
        return where

    def timeline(self, exchange_id: str) -> list[StoredEvent]:
        with self._read() as conn:
            rows = conn.execute(
                select(t.events).where(t.events.c.exchange_id == exchange_id).order_by(t.events.c.event_id)
            )
            return [as_record(StoredEvent, r) for r in rows]

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
