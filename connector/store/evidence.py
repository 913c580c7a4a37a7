"""The evidence log: every accepted package, signed receipt, timeline event, delivery outcome and
operator action, appended as a hash chain (``signing.chain``) and never updated or deleted.

Writers append inside the transaction that makes the change, so the evidence and the state
cannot disagree. One chain with concurrent writers: ``append`` first bumps the single
``evidence_head`` row, which on PostgreSQL takes its row lock until commit (the next writer waits,
then reads the new head) and on SQLite takes the database's write lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from connector.store import statements
from connector.store import tables as t
from connector.store.records import EvidenceKind, EvidenceRecord, SignedHead, StoredEvent, columns
from signing import GENESIS, ORIGIN, ChainLink, canonical_json, first_break, link_hash, sha256_hex

_HEAD = 1  # the evidence_head row's id
_BATCH = 1000  # records read per query while verifying


def _iso(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def event_data(ev: StoredEvent) -> dict[str, Any]:
    """A timeline event as recorded (and as a bundle's timeline.json shows it)."""
    return columns(ev) | {"at": _iso(ev.at), "state": ev.state.value}


# Built once (SQLAlchemy reuses their compiled forms): the head's statements of ``append_all``.
_BUMP_HEAD = (
    update(t.evidence_head)
    .where(t.evidence_head.c.id == _HEAD)
    .values(seq=t.evidence_head.c.seq + bindparam("count"))
    .returning(t.evidence_head.c.seq, t.evidence_head.c.record_sha256)
)
_SET_HEAD = update(t.evidence_head).where(t.evidence_head.c.id == _HEAD).values(record_sha256=bindparam("hash"))


@dataclasses.dataclass(frozen=True)
class Entry:
    """One record to append; ``append_all`` gives it its sequence number and link."""

    kind: EvidenceKind
    at: datetime
    actor: str
    data: dict[str, Any]
    exchange_id: str | None


def append(
    conn: Connection, kind: EvidenceKind, at: datetime, actor: str, data: dict[str, Any], exchange_id: str | None
) -> int:
    """Append one record in the caller's transaction; returns its sequence number."""
    return append_all(conn, [Entry(kind, at, actor, data, exchange_id)])


def append_all(conn: Connection, entries: list[Entry]) -> int:
    """Append records in the caller's transaction, in order; returns the last sequence number.

    Three statements however many records (a request leaves three): the head is bumped by
    their number first, which takes its lock (see the module docstring) and returns the
    previous record's hash. Call it last in a transaction: the lock is then held only until
    the commit."""
    bumped = conn.execute(_BUMP_HEAD, {"count": len(entries)}).one()
    seq, prev = bumped.seq - len(entries), bumped.record_sha256
    rows = []
    for entry in entries:
        seq += 1
        content = canonical_json(
            {
                "seq": seq,
                "at": _iso(entry.at),
                "kind": entry.kind.value,
                "exchange_id": entry.exchange_id,
                "actor": entry.actor,
                "data": entry.data,
            }
        )
        content_sha256 = sha256_hex(content)
        record_sha256 = link_hash(prev, content_sha256)
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
            }
        )
        prev = record_sha256
    conn.execute(statements.insert_into(t.evidence), rows)
    conn.execute(_SET_HEAD, {"hash": prev})
    return seq


def append_change(
    conn: Connection,
    exchange_id: str,
    ev: StoredEvent,
    previous_state: str | None,
    package: tuple[str, int] | None,
    message: tuple[str, str, bytes] | None,
) -> None:
    """What an accepted request leaves: its package (digest, size), the timeline event, and the
    receipt the connector signed (message id, operation, receipt bytes)."""
    entries = []
    if package is not None and message is not None:
        digest, size = package
        data = {"message_id": message[0], "operation": message[1], "package_sha256": digest, "size": size}
        entries.append(Entry(EvidenceKind.PACKAGE, ev.at, ev.actor, data, exchange_id))
    entries.append(
        Entry(EvidenceKind.EVENT, ev.at, ev.actor, {"event": event_data(ev), "from": previous_state}, exchange_id)
    )
    if message is not None:
        message_id, operation, receipt = message
        data = {"message_id": message_id, "operation": operation, "receipt_sha256": sha256_hex(receipt)}
        entries.append(Entry(EvidenceKind.RECEIPT, ev.at, "connector", data, exchange_id))
    append_all(conn, entries)


def append_delivery(conn: Connection, item_id: int, at: datetime, outcome: str, error: str | None) -> None:
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
    append(conn, EvidenceKind.DELIVERY, at, item.system_id, data, item.exchange_id)


def _record(row: Any) -> EvidenceRecord:
    m = row._mapping
    at = m["at"] if m["at"].tzinfo else m["at"].replace(tzinfo=UTC)
    return EvidenceRecord(
        m["seq"],
        at,
        EvidenceKind(m["kind"]),
        m["exchange_id"],
        m["actor"],
        m["content"],
        m["content_sha256"],
        m["prev_sha256"],
        m["record_sha256"],
    )


def _signed_head(row: Any) -> SignedHead:
    m = dict(row._mapping)
    if m["signed_at"].tzinfo is None:
        m["signed_at"] = m["signed_at"].replace(tzinfo=UTC)
    return SignedHead(**m)


@dataclasses.dataclass(frozen=True)
class ChainVerdict:
    """The outcome of checking the whole chain: ``broken`` names the first bad record."""

    records: int
    head_seq: int
    head_sha256: str
    broken: str | None
    signed_heads_checked: int


class EvidenceLog:
    """Reading the chain, checking it, and keeping its signed heads (``Store.evidence``)."""

    def __init__(
        self,
        read: Callable[[], AbstractContextManager[Connection]],
        write: Callable[[], AbstractContextManager[Connection]],
    ) -> None:
        self._read = read
        self._tx = write

    def head(self) -> tuple[int, str]:
        with self._read() as conn:
            row = conn.execute(select(t.evidence_head.c.seq, t.evidence_head.c.record_sha256)).first()
        return (row.seq, row.record_sha256) if row else (0, GENESIS)

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
            return [_record(r) for r in conn.execute(query)]

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
            return append(conn, EvidenceKind.OPERATOR, at, actor, data, exchange_id)

    def _all(self) -> Iterator[tuple[ChainLink, bytes | None]]:
        since = 1
        while True:
            batch = self.records(since=since, until=since + _BATCH - 1)
            yield from ((r.link, r.content.encode("utf-8")) for r in batch)
            if len(batch) < _BATCH:
                return
            since += _BATCH

    def verify(self) -> ChainVerdict:
        """Check every record, then the head row and every signed head against the records.

        A changed record breaks its own hashes or the next record's link; a deleted one leaves
        a gap; deleting the last records (or rewriting the whole chain) disagrees with the head
        row and with the heads the connector signed."""
        end = [ORIGIN]

        def tracked() -> Iterator[tuple[ChainLink, bytes | None]]:
            for item in self._all():
                end[0] = item[0]
                yield item

        broken = first_break(tracked(), ORIGIN)
        seq, sha = self.head()
        last = end[0]
        if broken is None and (last.seq, last.record_sha256) != (seq, sha):
            broken = (
                f"head: the head row says record {seq} ({sha[:12]}...), "
                f"the chain ends at record {last.seq} ({last.record_sha256[:12]}...)"
            )
        heads = self.signed_heads()
        for head in heads if broken is None else ():
            found = self.records(since=head.seq, until=head.seq)
            if not found or found[0].record_sha256 != head.record_sha256:
                broken = (
                    f"record {head.seq}: differs from signed head {head.head_id} of {head.signed_at:%Y-%m-%d %H:%M:%S}"
                )
                break
        return ChainVerdict(last.seq, seq, sha, broken, len(heads))

    # ---- signed heads ---------------------------------------------------------------------
    def add_signed_head(
        self,
        seq: int,
        record_sha256: str,
        signed_at: datetime,
        signed_xml: bytes,
        timestamp_response: bytes | None,
        tsa_url: str | None,
    ) -> SignedHead:
        with self._tx() as conn:
            head_id = conn.execute(
                insert(t.signed_heads).values(
                    seq=seq,
                    record_sha256=record_sha256,
                    signed_at=signed_at,
                    signed_xml=signed_xml,
                    timestamp_response=timestamp_response,
                    tsa_url=tsa_url,
                )
            ).inserted_primary_key[0]
        return SignedHead(head_id, seq, record_sha256, signed_at, signed_xml, timestamp_response, tsa_url)

    def signed_heads(self, limit: int | None = None) -> list[SignedHead]:
        """Newest first."""
        query = select(t.signed_heads).order_by(t.signed_heads.c.head_id.desc()).limit(limit)
        with self._read() as conn:
            return [_signed_head(r) for r in conn.execute(query)]
