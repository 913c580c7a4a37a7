"""The evidence log: every accepted package, signed receipt, timeline event, delivery outcome and
operator action, appended as a hash chain (``signing.chain``) and never updated or deleted.
Each record and the head row carry an HMAC under a key outside the database
(``evidence_keys.py``); ``evidence_check.py`` verifies all of it.

Writers append inside the transaction that makes the change, so the evidence and the state
cannot disagree. One chain with concurrent writers: ``append`` first bumps the single
``evidence_head`` row, which on PostgreSQL takes its row lock until commit (the next writer waits,
then reads the new head) and on SQLite takes the database's write lock.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from connector.store import statements
from connector.store import tables as t
from connector.store.evidence_check import HEAD_SIGNED, LEGACY_SEALED, ChainVerdict, check_chain
from connector.store.evidence_facts import as_utc, event_data, iso
from connector.store.evidence_keys import HEAD_MAC, RECORD_MAC, EvidenceKeys
from connector.store.records import EvidenceKind, EvidenceRecord, SignedHead, StoreConflictError, StoredEvent
from signing import GENESIS, ORIGIN, ChainLink, canonical_json, first_break, link_hash, sha256_hex

_HEAD = 1  # the evidence_head row's id


# Built once (SQLAlchemy reuses their compiled forms): the head's statements of ``append_all``.
_BUMP_HEAD = (
    update(t.evidence_head)
    .where(t.evidence_head.c.id == _HEAD)
    .values(seq=t.evidence_head.c.seq + bindparam("count"))
    .returning(t.evidence_head.c.seq, t.evidence_head.c.record_sha256)
)
_SET_HEAD = (
    update(t.evidence_head)
    .where(t.evidence_head.c.id == _HEAD)
    .values(record_sha256=bindparam("hash"), mac_key=bindparam("mac_key"), mac=bindparam("mac"))
)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One record to append; ``append_all`` gives it its sequence number and link."""

    kind: EvidenceKind
    at: datetime
    actor: str
    data: dict[str, Any]
    exchange_id: str | None


def append_all(conn: Connection, entries: list[Entry], keys: EvidenceKeys | None) -> int:
    """Append records in the caller's transaction, in order; returns the last sequence number.

    Three statements however many records (a request leaves three): the head is bumped by
    their number first, which takes its lock (see the module docstring) and returns the
    previous record's hash. Call it last in a transaction: the lock is then held only until
    the commit. ``keys``: the evidence key ring; without one (a bare ``Store``, as the store's
    own tests make it; the serving layer always gives one) records carry no MAC."""
    bumped = conn.execute(_BUMP_HEAD, {"count": len(entries)}).one()
    seq, prev = bumped.seq - len(entries), bumped.record_sha256
    rows = []
    for entry in entries:
        seq += 1
        content = canonical_json(
            {
                "seq": seq,
                "at": iso(entry.at),
                "kind": entry.kind.value,
                "exchange_id": entry.exchange_id,
                "actor": entry.actor,
                "data": entry.data,
            }
        )
        content_sha256 = sha256_hex(content)
        record_sha256 = link_hash(prev, content_sha256)
        mac = keys.mac(RECORD_MAC, seq, record_sha256) if keys else None
        rows.append(
            {
                "seq": seq,
                "at": entry.at,
                "kind": entry.kind.value,
                "exchange_id": entry.exchange_id,
                "actor": entry.actor,
                "content": content.decode("utf-8"),
                "content_sha256": content_sha256,
                "prev_sha256": prev,
                "record_sha256": record_sha256,
                "mac_key": mac.key_id if mac else None,
                "mac": mac.value if mac else None,
            }
        )
        prev = record_sha256
    conn.execute(statements.insert_into(t.evidence), rows)
    head_mac = keys.mac(HEAD_MAC, seq, prev) if keys else None
    values = {
        "hash": prev,
        "mac_key": head_mac.key_id if head_mac else None,
        "mac": head_mac.value if head_mac else None,
    }
    conn.execute(_SET_HEAD, values)
    return seq


def change_entries(
    exchange_id: str,
    ev: StoredEvent,
    previous_state: str | None,
    package: tuple[str, int] | None,
    message: tuple[str, str, bytes] | None,
    facts: dict[str, Any] | None = None,
) -> list[Entry]:
    """What an accepted request leaves: its package (digest, size), the timeline event (with
    ``facts``: the exchange row's columns it sets, ``exchange`` or ``result``), and the receipt
    the connector signed (message id, operation, receipt bytes)."""
    entries = []
    if package is not None and message is not None:
        digest, size = package
        data = {"message_id": message[0], "operation": message[1], "package_sha256": digest, "size": size}
        entries.append(Entry(EvidenceKind.PACKAGE, ev.at, ev.actor, data, exchange_id))
    data = {"event": event_data(ev), "from": previous_state} | (facts or {})
    entries.append(Entry(EvidenceKind.EVENT, ev.at, ev.actor, data, exchange_id))
    if message is not None:
        message_id, operation, receipt = message
        data = {"message_id": message_id, "operation": operation, "receipt_sha256": sha256_hex(receipt)}
        entries.append(Entry(EvidenceKind.RECEIPT, ev.at, "connector", data, exchange_id))
    return entries


def delivery_entry(conn: Connection, item_id: int, at: datetime, outcome: str, error: str | None) -> Entry:
    """How a delivery attempt (or a pull acknowledgement) of an outbox item ended."""
    item = conn.execute(
        select(t.outbox.c.exchange_id, t.outbox.c.message_id, t.outbox.c.system_id, t.outbox.c.operation).where(
            t.outbox.c.item_id == item_id
        )
    ).one()
    data = {
        "item_id": item_id,
        "message_id": item.message_id,
        "operation": item.operation,
        "system_id": item.system_id,
        "outcome": outcome,
        "error": error,
    }
    return Entry(EvidenceKind.DELIVERY, at, item.system_id, data, item.exchange_id)


def record_of(row: Any) -> EvidenceRecord:
    """A record as presented: time, kind, exchange and actor are read from the hashed content,
    never from the columns beside it (those only index it; ``evidence verify`` checks them)."""
    m = row._mapping
    try:
        content = json.loads(m["content"])
        at, kind = datetime.fromisoformat(content["at"]), EvidenceKind(content["kind"])
        exchange_id, actor = content["exchange_id"], content["actor"]
    except (ValueError, KeyError, TypeError):  # unreadable content: shown as stored, reported by verify
        at, kind, exchange_id, actor = as_utc(m["at"]), EvidenceKind(m["kind"]), m["exchange_id"], m["actor"]
    return EvidenceRecord(
        m["seq"],
        at,
        kind,
        exchange_id,
        actor,
        m["content"],
        m["content_sha256"],
        m["prev_sha256"],
        m["record_sha256"],
        m["mac_key"],
        m["mac"],
    )


def _signed_head(row: Any) -> SignedHead:
    m = dict(row._mapping)
    m["signed_at"] = as_utc(m["signed_at"])
    return SignedHead(**m)


class EvidenceLog:
    """Appending to the chain, reading it, and keeping its signed heads (``Store.evidence``).

    ``keys`` is the evidence key ring the serving layer loads (``Settings.evidence_keys_dir``);
    the store's writes append through ``append*`` below, in their own transactions."""

    def __init__(
        self,
        read: Callable[[], AbstractContextManager[Connection]],
        write: Callable[[], AbstractContextManager[Connection]],
    ) -> None:
        self._read = read
        self._tx = write
        self.keys: EvidenceKeys | None = None

    # ---- appending, in the caller's transaction -------------------------------------------
    def append(
        self,
        conn: Connection,
        kind: EvidenceKind,
        at: datetime,
        actor: str,
        data: dict[str, Any],
        exchange_id: str | None,
    ) -> int:
        """Append one record in the caller's transaction; returns its sequence number."""
        return append_all(conn, [Entry(kind, at, actor, data, exchange_id)], self.keys)

    def append_change(
        self,
        conn: Connection,
        exchange_id: str,
        ev: StoredEvent,
        previous_state: str | None,
        package: tuple[str, int] | None,
        message: tuple[str, str, bytes] | None,
        facts: dict[str, Any] | None = None,
    ) -> None:
        entries = change_entries(exchange_id, ev, previous_state, package, message, facts)
        append_all(conn, entries, self.keys)

    def append_delivery(self, conn: Connection, item_id: int, at: datetime, outcome: str, error: str | None) -> None:
        append_all(conn, [delivery_entry(conn, item_id, at, outcome, error)], self.keys)

    # ---- reading ----------------------------------------------------------------------------
    def head(self) -> tuple[int, str]:
        with self._read() as conn:
            row = conn.execute(select(t.evidence_head.c.seq, t.evidence_head.c.record_sha256)).first()
        return (row.seq, row.record_sha256) if row else (0, GENESIS)

    def head_row(self) -> tuple[int, str, int | None, str | None]:
        """The head row with its MAC: seq, record_sha256, mac_key, mac."""
        with self._read() as conn:
            row = conn.execute(select(t.evidence_head).where(t.evidence_head.c.id == _HEAD)).first()
        return (row.seq, row.record_sha256, row.mac_key, row.mac) if row else (0, GENESIS, None, None)

    def records(
        self, exchange_ids: list[str] | None = None, since: int = 1, until: int | None = None
    ) -> list[EvidenceRecord]:
        """Records in sequence order: all of them, or those of the given exchanges."""
        query = select(t.evidence).where(t.evidence.c.seq >= since).order_by(t.evidence.c.seq)
        if until is not None:
            query = query.where(t.evidence.c.seq <= until)
        if exchange_ids is not None:
            query = query.where(t.evidence.c.exchange_id.in_(exchange_ids))
        with self._read() as conn:
            return [record_of(r) for r in conn.execute(query)]

    def rows(self, since: int, until: int) -> list[Any]:
        """Stored rows as they are, columns included (what ``evidence verify`` compares)."""
        query = select(t.evidence).where(t.evidence.c.seq.between(since, until)).order_by(t.evidence.c.seq)
        with self._read() as conn:
            return list(conn.execute(query))

    def exchange_rows(self) -> Iterator[Mapping[str, Any]]:
        """Every exchange row, and every timeline event row in order (what ``evidence verify``
        compares with the records)."""
        with self._read() as conn:
            for row in conn.execute(select(t.exchanges).order_by(t.exchanges.c.exchange_id)):
                yield row._mapping

    def event_rows(self) -> Iterator[Mapping[str, Any]]:
        with self._read() as conn:
            for row in conn.execute(select(t.events).order_by(t.events.c.event_id)):
                yield row._mapping

    def links(self, since: int, until: int) -> list[ChainLink]:
        """The chain from ``since`` to ``until`` without the contents: the path to a signed head."""
        columns = (t.evidence.c.seq, t.evidence.c.content_sha256, t.evidence.c.prev_sha256, t.evidence.c.record_sha256)
        with self._read() as conn:
            rows = conn.execute(
                select(*columns).where(t.evidence.c.seq.between(since, until)).order_by(t.evidence.c.seq)
            )
            return [ChainLink(*r) for r in rows]

    def record_action(self, actor: str, at: datetime, data: dict[str, Any], exchange_id: str | None = None) -> int:
        """An operator's action that changes nothing else in the store (e.g. signing the head)."""
        with self._tx() as conn:
            return self.append(conn, EvidenceKind.OPERATOR, at, actor, data, exchange_id)

    def verify(self) -> ChainVerdict:
        """The whole chain, its head row and signed-head rows checked (``evidence_check``)."""
        return check_chain(self, self.keys)

    # ---- records from before migration 0007 -------------------------------------------------
    def seal_legacy(self, at: datetime) -> int:
        """Authenticate the records written before the evidence keys existed, once their chain
        verifies, and note it in the chain; returns how many (0: nothing to do, or no key).
        The MAC then attests the records as they were at the upgrade, not when written."""
        if self.keys is None:
            return 0
        with self._tx() as conn:
            bumped = conn.execute(_BUMP_HEAD, {"count": 0}).one()  # the chain's lock, held to the commit
            unsealed = conn.execute(select(func.count()).select_from(t.evidence).where(t.evidence.c.mac.is_(None)))
            if not unsealed.scalar_one():
                return 0
            rows = list(conn.execute(select(t.evidence).order_by(t.evidence.c.seq)))
            links = [(record_of(r).link, r.content.encode("utf-8")) for r in rows]
            last = rows[-1]
            if first_break(links, ORIGIN) or (last.seq, last.record_sha256) != (bumped.seq, bumped.record_sha256):
                return 0  # a broken chain is never blessed: ``evidence verify`` reports it
            sealed = 0
            for row in rows:
                if row.mac is None:
                    mac = self.keys.mac(RECORD_MAC, row.seq, row.record_sha256)
                    conn.execute(
                        update(t.evidence).where(t.evidence.c.seq == row.seq).values(mac_key=mac.key_id, mac=mac.value)
                    )
                    sealed += 1
            data = {"action": LEGACY_SEALED, "records": sealed, "through": last.seq}
            append_all(conn, [Entry(EvidenceKind.OPERATOR, at, "connector", data, None)], self.keys)
        return sealed

    # ---- signed heads -----------------------------------------------------------------------
    def latest_numbered_head(self) -> SignedHead | None:
        query = select(t.signed_heads).where(t.signed_heads.c.number.is_not(None))
        with self._read() as conn:
            row = conn.execute(query.order_by(t.signed_heads.c.number.desc()).limit(1)).first()
        return _signed_head(row) if row else None

    def add_signed_head(self, head: SignedHead, at: datetime) -> SignedHead:
        """Keep a signed head and note it in the chain, in one transaction. Raises
        ``StoreConflictError`` when another process numbered a head the same meanwhile."""
        with self._tx() as conn:
            note = {
                "action": HEAD_SIGNED,
                "number": head.number,
                "seq": head.seq,
                "record_sha256": head.record_sha256,
                "head_sha256": sha256_hex(head.signed_xml),
                "timestamped": head.timestamp_response is not None,
            }
            noted = append_all(conn, [Entry(EvidenceKind.OPERATOR, at, "connector", note, None)], self.keys)
            latest = conn.execute(select(func.max(t.signed_heads.c.number))).scalar_one()
            if (latest or 0) + 1 != head.number:
                raise StoreConflictError(f"signed head {head.number} was numbered by another process")
            values = dataclasses.asdict(head) | {"noted_seq": noted}
            del values["head_id"]
            head_id = conn.execute(t.signed_heads.insert().values(**values)).inserted_primary_key[0]
        return dataclasses.replace(head, head_id=head_id, noted_seq=noted)

    def signed_heads(self, limit: int | None = None, offset: int = 0) -> list[SignedHead]:
        """Newest first."""
        query = select(t.signed_heads).order_by(t.signed_heads.c.head_id.desc()).limit(limit).offset(offset)
        with self._read() as conn:
            return [_signed_head(r) for r in conn.execute(query)]

    def count_signed_heads(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(t.signed_heads)).scalar_one())

    def unstamped_heads(self) -> list[SignedHead]:
        """Heads kept without a time-stamp although a TSA was configured (it was down), oldest first."""
        query = select(t.signed_heads).where(
            t.signed_heads.c.tsa_url.is_not(None), t.signed_heads.c.timestamp_response.is_(None)
        )
        with self._read() as conn:
            return [_signed_head(r) for r in conn.execute(query.order_by(t.signed_heads.c.head_id))]

    def set_timestamp(self, head_id: int, timestamp_response: bytes) -> None:
        """A time-stamp obtained after the head was kept (it covers the head's unchanged bytes)."""
        with self._tx() as conn:
            conn.execute(
                update(t.signed_heads)
                .where(t.signed_heads.c.head_id == head_id, t.signed_heads.c.timestamp_response.is_(None))
                .values(timestamp_response=timestamp_response)
            )

    def covering_head(self, seq: int) -> SignedHead | None:
        """The first numbered signed head that covers record ``seq`` (a bundle's bounded end): the
        first time-stamped one when there is one (a stamp is worth a longer chain part)."""
        query = select(t.signed_heads).where(t.signed_heads.c.number.is_not(None), t.signed_heads.c.seq >= seq)
        unstamped_last = t.signed_heads.c.timestamp_response.is_(None)
        with self._read() as conn:
            row = conn.execute(query.order_by(unstamped_last, t.signed_heads.c.number).limit(1)).first()
        return _signed_head(row) if row else None
