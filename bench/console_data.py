"""A month of a busy connector, bulk-loaded into a PostgreSQL store for ``bench_console.py``.

``load`` writes through the store's own tables (``connector/store/tables.py``) with ``COPY``:
exchanges over ``Shape.days`` days with their timelines, two outbox items each (the document to
the agency, then a status or the result back to the one-stop system) in the state mix of a
working day (most delivered, a backlog behind an open breaker and a paused queue, pull items
fetched and not yet acknowledged, some in flight, a few hundred dead letters), the attempts log
with its errors, per-partner queue rows, and the evidence chain a real run leaves: package, event
and receipt records for every accepted request and a delivery record per attempt, hashed and
MACed as ``connector/store/evidence.py`` appends them (``evidence verify`` passes on the result).

Partners are imported as an operator does (``Store.import_directory``): ``Shape.partners`` systems,
one-stop (push), document management (push and pull) and the national axis (vxp). Every package
is one of a few real signed packages, so an exchange's page verifies real signatures. Tables the
console never reads (``messages``, attachments) stay empty. Rows are written by column name from
``tables.py``: a column the store itself computes on insert (none yet) must be computed here too,
or it stays NULL and the benchmark times a query that finds nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connector.exchange.directory import (
    DeliveryMode,
    Directory,
    OrganizationEntry,
    PartnerAuth,
    PartnerAuthType,
    Protocol,
    SystemEntry,
    SystemKind,
)
from connector.exchange.states import ExchangeState
from connector.store import EvidenceKeys, EvidenceKind, Store, StoredEvent
from connector.store import tables as t
from connector.store.evidence import Entry, change_entries
from connector.store.evidence_facts import exchange_facts, iso
from connector.store.evidence_keys import HEAD_MAC, RECORD_MAC
from connector.store.search import search_text
from signing import GENESIS, canonical_json, link_hash, sha256_hex

S = ExchangeState
# How an exchange got to its state: the agency's statuses, in order.
PATHS = {
    S.ACCEPTED: (S.ACCEPTED,),
    S.ARRIVED: (S.ACCEPTED, S.ARRIVED),
    S.REGISTERED: (S.ACCEPTED, S.ARRIVED, S.REGISTERED),
    S.ASSIGNED: (S.ACCEPTED, S.ARRIVED, S.REGISTERED, S.ASSIGNED),
    S.IN_PROGRESS: (S.ACCEPTED, S.ARRIVED, S.REGISTERED, S.ASSIGNED, S.IN_PROGRESS),
    S.FINISHED: (S.ACCEPTED, S.ARRIVED, S.REGISTERED, S.ASSIGNED, S.IN_PROGRESS, S.FINISHED),
    S.REFUSED: (S.ACCEPTED, S.ARRIVED, S.REFUSED),
    S.TAKEN_BACK: (S.ACCEPTED, S.ARRIVED, S.TAKEN_BACK),
    S.RECALLED: (S.ACCEPTED, S.ARRIVED, S.TAKEN_BACK, S.RECALLED),
    S.REVOKED: (S.ACCEPTED, S.REVOKED),
}
STATUS_CODES = {
    S.ARRIVED: "01",
    S.REFUSED: "02",
    S.REGISTERED: "03",
    S.ASSIGNED: "04",
    S.IN_PROGRESS: "05",
    S.FINISHED: "06",
    S.TAKEN_BACK: "13",
    S.RECALLED: "15",
}
ERRORS = (
    "HTTP 503 Service Unavailable from {endpoint}",
    "connect timeout after 10 s: {endpoint}",
    "Connection refused: {endpoint}",
    "SOAP Fault soap:Server: Lỗi hệ thống, vui lòng thử lại sau",
    "read timeout after 60 s: {endpoint}",
)
APPLICANTS = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em", "Vũ Thị Giang")


@dataclass(frozen=True)
class Shape:
    exchanges: int = 100_000
    days: int = 30
    partners: int = 20
    dead: int = 400
    """Dead letters, most of them at the two partners in trouble."""
    seed: int = 24

    @property
    def outbox(self) -> int:
        return 2 * self.exchanges

    def scaled(self, factor: float) -> Shape:
        return dataclasses.replace(
            self, exchanges=max(int(self.exchanges * factor), 20), dead=max(int(self.dead * factor), 2)
        )


@dataclass(frozen=True)
class Partners:
    """The directory the data is routed through: each one-stop system sends to every agency."""

    onestop: list[SystemEntry]
    agencies: list[SystemEntry]
    broken: str
    """Its breaker is open: a growing backlog, retries, dead letters."""
    paused: str
    """Paused by an operator: its items wait."""

    @property
    def directory(self) -> Directory:
        systems = self.onestop + self.agencies
        organizations = [OrganizationEntry(s.organ_id, f"Cơ quan {s.organ_id} ({s.system_id})") for s in systems]
        return Directory(organizations=organizations, systems=systems)


def partners(count: int) -> Partners:
    """About a third one-stop systems (push), the rest agencies: document management by push and
    by pull, and some on the national axis (vxp)."""
    onestop, agencies = [], []
    for n in range(count):
        organ = f"000.{n // 10:02d}.{n % 10 + 40:02d}.H{n % 60 + 10:02d}"
        endpoint = f"https://partner-{n}.example.vn/soap"
        if n % 3 == 0:
            onestop.append(SystemEntry(f"igate-{n:02d}", organ, SystemKind.ONESTOP, endpoint))
        elif n % 7 == 2:
            auth = PartnerAuth(PartnerAuthType.VXP_HMAC, system_id=f"connector-{n}")
            axis = SystemEntry(f"truc-{n:02d}", organ, SystemKind.DOCMGMT, endpoint, protocol=Protocol.VXP, auth=auth)
            agencies.append(axis)
        elif n % 4 == 1:
            agencies.append(SystemEntry(f"qlvb-{n:02d}", organ, SystemKind.DOCMGMT, None, DeliveryMode.PULL))
        else:
            agencies.append(SystemEntry(f"eoffice-{n:02d}", organ, SystemKind.DOCMGMT, endpoint))
    agencies_ids = tuple(a.organ_id for a in agencies)
    onestop = [dataclasses.replace(s, agencies=agencies_ids) for s in onestop]
    pushed = [a for a in agencies if a.mode is DeliveryMode.PUSH]
    return Partners(onestop, agencies, broken=pushed[0].system_id, paused=pushed[-1].system_id)


class CopyBuffer:
    """Rows for one table, sent with ``COPY`` in batches (psycopg formats them, in C)."""

    def __init__(self, cursor: Any, table: Any, columns: Sequence[str]) -> None:
        self.cursor, self.columns = cursor, columns
        self.statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        self.pending: list[tuple[Any, ...]] = []

    def add(self, row: dict[str, Any]) -> None:
        self.pending.append(tuple(row.get(c) for c in self.columns))

    @property
    def full(self) -> bool:
        return len(self.pending) >= 50_000

    def flush(self) -> None:
        if self.pending:
            with self.cursor.copy(self.statement) as copy:
                for row in self.pending:
                    copy.write_row(row)
        self.pending = []


class Chain:
    """Evidence records appended as ``connector/store/evidence.py``'s ``append_all`` does."""

    def __init__(self, out: CopyBuffer, keys: EvidenceKeys) -> None:
        self.out, self.keys = out, keys
        self.seq, self.prev = 0, GENESIS

    def append(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.seq += 1
            content = canonical_json(
                {
                    "seq": self.seq,
                    "at": iso(entry.at),
                    "kind": entry.kind.value,
                    "exchange_id": entry.exchange_id,
                    "actor": entry.actor,
                    "data": entry.data,
                }
            )
            content_sha256 = sha256_hex(content)
            record_sha256 = link_hash(self.prev, content_sha256)
            mac = self.keys.mac(RECORD_MAC, self.seq, record_sha256)
            self.out.add(
                {
                    "seq": self.seq,
                    "at": entry.at,
                    "kind": entry.kind.value,
                    "exchange_id": entry.exchange_id,
                    "actor": entry.actor,
                    "content": content.decode("utf-8"),
                    "content_sha256": content_sha256,
                    "prev_sha256": self.prev,
                    "record_sha256": record_sha256,
                    "mac_key": mac.key_id,
                    "mac": mac.value,
                }
            )
            self.prev = record_sha256


def load(store: Store, shape: Shape, packages: Sequence[tuple[str, int]], now: datetime) -> None:
    """Fill an empty PostgreSQL store (migrated, with its evidence keys) with ``shape``'s data.
    ``packages``: (digest, size) of the real packages already stored, which exchanges point at."""
    directory = partners(shape.partners)
    store.import_directory(directory.directory)
    assert store.evidence.keys is not None, "the runtime gives the store its evidence keys"
    raw = store.engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor:
            # The generated rows are consistent by construction: skip the foreign keys' per-row
            # triggers for this transaction (PostgreSQL's own bulk-load switch).
            cursor.execute("SET LOCAL session_replication_role = replica")
            _Loader(cursor, shape, directory, packages, now, store.evidence.keys).run()
        raw.commit()
    finally:
        raw.close()
    # What autovacuum does to a table that only grew: statistics for the planner, and the
    # visibility map that lets counts read an index alone.
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


class _Loader:
    def __init__(
        self,
        cursor: Any,
        shape: Shape,
        directory: Partners,
        packages: Sequence[tuple[str, int]],
        now: datetime,
        keys: EvidenceKeys,
    ) -> None:
        self.cursor, self.shape, self.directory, self.packages, self.now = cursor, shape, directory, packages, now
        self.rng = random.Random(shape.seed)
        # In the order the foreign keys need; the serial ids of events and attempts are the database's.
        self.out = {
            table.name: CopyBuffer(cursor, table, [c.name for c in table.columns if c.name not in serial])
            for table, serial in (
                (t.exchanges, ()),
                (t.events, ("event_id",)),
                (t.outbox, ()),
                (t.attempts, ("attempt_id",)),
                (t.evidence, ()),
            )
        }
        self.chain = Chain(self.out["evidence"], keys)
        self.item_id = 0
        self.dead_left = shape.dead

    def run(self) -> None:
        n = self.shape.exchanges
        span = timedelta(days=self.shape.days)
        for i in range(n):
            created = self.now - span + span * (i + self.rng.random()) / n
            self.exchange(i, created)
            if any(buffer.full for buffer in self.out.values()):
                self.flush()
        self.flush()
        self.queues()
        self.cursor.execute(
            "UPDATE evidence_head SET seq = %s, record_sha256 = %s, mac_key = %s, mac = %s",
            (self.chain.seq, self.chain.prev, *self._head_mac()),
        )
        for table, column in (("outbox", "item_id"), ("attempts", "attempt_id"), ("events", "event_id")):
            self.cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), max({column})) FROM {table}"
            )

    def flush(self) -> None:
        for buffer in self.out.values():
            buffer.flush()

    def _head_mac(self) -> tuple[int, str]:
        mac = self.chain.keys.mac(HEAD_MAC, self.chain.seq, self.chain.prev)
        return mac.key_id, mac.value

    def state_for(self, age_days: float) -> ExchangeState:
        r = self.rng.random()
        if age_days > 10:
            ladder = ((0.80, S.FINISHED), (0.87, S.IN_PROGRESS), (0.93, S.REFUSED), (0.96, S.TAKEN_BACK))
            ladder += ((0.98, S.RECALLED), (1.0, S.REVOKED))
        elif age_days > 2:
            ladder = ((0.35, S.FINISHED), (0.75, S.IN_PROGRESS), (0.88, S.ASSIGNED), (0.94, S.REGISTERED))
            ladder += ((0.98, S.REFUSED), (1.0, S.TAKEN_BACK))
        else:
            ladder = ((0.15, S.ACCEPTED), (0.40, S.ARRIVED), (0.70, S.REGISTERED), (0.90, S.ASSIGNED))
            ladder += ((1.0, S.IN_PROGRESS),)
        return next(state for bound, state in ladder if r < bound)

    def exchange(self, i: int, created: datetime) -> None:
        rng = self.rng
        exchange_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        onestop = self.directory.onestop[i % len(self.directory.onestop)]
        agency = self.directory.agencies[rng.randrange(len(self.directory.agencies))]
        dossier = f"HS-{onestop.organ_id[-3:]}-{created:%y%m%d}-{i:06d}"
        digest, size = self.packages[i % len(self.packages)]
        state = self.state_for((self.now - created).total_seconds() / 86400)
        path = PATHS[state]
        # The agency answers within hours, then days; never after now.
        times = [created]
        for _ in path[1:]:
            times.append(min(times[-1] + timedelta(minutes=rng.expovariate(1 / 600)), self.now))
        values = {
            "exchange_id": exchange_id,
            "kind": "INCOMING",
            "state": state.value,
            "document_id": str(uuid.UUID(int=rng.getrandbits(128), version=5)),
            "document_code": f"{i % 900 + 1}/LT_iGate",
            "dossier_code": dossier,
            "onestop_number": str(2_000_000 + i),
            "procedure_code": f"2.{i % 40:06d}.000.00.00.H31",
            "procedure_name": "Thủ tục Cấp bản sao từ sổ gốc",
            "applicant": APPLICANTS[i % len(APPLICANTS)],
            "received_at": created - timedelta(hours=2),
            "sender_username": "cbtiepnhan",
            "source_organ": onestop.organ_id,
            "agency_organ": agency.organ_id,
            "queue": "registration",
            "target_account": f"vanthu.{agency.system_id}",
            "package_digest": digest,
            "created_at": created,
            "updated_at": times[-1],
        }
        values["search_text"] = search_text(values)  # as the store writes it (the FTS5 table: SQLite only)
        self.out["exchanges"].add(values)
        previous = None
        for n, (step, at) in enumerate(zip(path, times, strict=True)):
            actor = f"{onestop.organ_id}/cbtiepnhan" if n == 0 else f"{agency.organ_id}/{APPLICANTS[n]}"
            note = f"routed to {agency.organ_id} registration queue" if n == 0 else f"{step.value}"
            event = StoredEvent(at, step, actor, STATUS_CODES.get(step), digest, note)
            self.out["events"].add(
                {"exchange_id": exchange_id, "at": at, "state": step.value, "actor": actor}
                | {"status_code": event.status_code, "package_digest": digest, "note": note}
            )
            message = str(uuid.UUID(int=rng.getrandbits(128), version=4)) if n else exchange_id
            receipt = hashlib.sha256(message.encode()).digest()
            operation = "sendDocument" if n == 0 else "updateStatus"
            facts = {"exchange": exchange_facts(values)} if n == 0 else None
            self.chain.append(
                change_entries(exchange_id, event, previous, (digest, size), (message, operation, receipt), facts)
            )
            previous = step.value
        self.item(exchange_id, agency, "deliverDocument", created, digest)
        back = "deliverResult" if state is S.FINISHED else "deliverStatus"
        self.item(exchange_id, onestop, back, times[-1], digest)

    def item(self, exchange_id: str, system: SystemEntry, operation: str, created: datetime, digest: str) -> None:
        """One outbox item, its attempts and their evidence records, in the state its age and
        partner give it."""
        rng, now = self.rng, self.now
        self.item_id += 1
        age = (now - created).total_seconds()
        pull = system.mode is DeliveryMode.PULL
        endpoint = system.endpoint or "(pull)"
        state, attempts, lease, error = "delivered", [], None, None
        next_at = created
        troubled = system.system_id in (self.directory.broken, self.directory.paused)
        if system.system_id == self.directory.broken and age < 6 * 3600:
            state = "pending"  # the breaker opened six hours ago: everything since waits, retried
            attempts = [("retry", created + timedelta(minutes=k * 5)) for k in range(min(int(age // 1800), 6))]
            next_at = now + timedelta(minutes=rng.randrange(1, 30))
        elif system.system_id == self.directory.paused and age < 3 * 3600:
            state = "pending"
        elif age < 120:  # the last two minutes: not yet picked up, or in flight
            state = "pending"
            if not pull and rng.random() < 0.3:
                lease, next_at = now + timedelta(seconds=60), now + timedelta(seconds=60)
        elif pull and age < 1800:
            state = "fetched" if rng.random() < 0.6 else "pending"
        elif self.dead_left > 0 and rng.random() < (0.02 if troubled else 0.001):
            state = "dead"
            self.dead_left -= 1
            attempts = [("retry", created + timedelta(minutes=2**k)) for k in range(rng.randrange(3, 8))]
            attempts.append(("dead", attempts[-1][1] + timedelta(minutes=30)))
        else:
            retries = 1 if rng.random() < 0.08 else 0
            attempts = [("retry", created + timedelta(seconds=5))] * retries
            attempts.append(("delivered", created + timedelta(seconds=5 + 60 * retries + rng.random() * 3)))
        logged = []
        for outcome, at in attempts:
            failed = outcome != "delivered"
            error = rng.choice(ERRORS).format(endpoint=endpoint) if failed else None
            logged.append((outcome, min(at, now), error))
        last_error = next((e for _, _, e in reversed(logged) if e), None)
        updated = logged[-1][1] if logged else created
        self.out["outbox"].add(
            {
                "item_id": self.item_id,
                "exchange_id": exchange_id,
                "message_id": f"{exchange_id}:{operation}",
                "system_id": system.system_id,
                "mode": system.mode.value,
                "operation": operation,
                "payload": json.dumps({"exchange_id": exchange_id, "operation": operation}),
                "package_digest": digest,
                "state": state,
                "attempts": len(logged),
                "next_attempt_at": next_at,
                "lease_until": lease,
                "leased_by": "bench-node:worker" if lease else None,
                "last_error": last_error,
                "created_at": created,
                "updated_at": updated,
            }
        )
        for outcome, at, error in logged:
            self.out["attempts"].add(
                {
                    "item_id": self.item_id,
                    "system_id": system.system_id,
                    "at": at,
                    "outcome": outcome,
                    "error": error,
                    "duration_ms": rng.randrange(20, 900),
                }
            )
            data = {
                "item_id": self.item_id,
                "message_id": f"{exchange_id}:{operation}",
                "operation": operation,
                "system_id": system.system_id,
                "outcome": outcome,
                "error": error,
            }
            self.chain.append([Entry(EvidenceKind.DELIVERY, at, system.system_id, data, exchange_id)])

    def queues(self) -> None:
        """A queue row for every partner; the broken one's breaker open, the paused one paused."""
        now = self.now
        for system in self.directory.onestop + self.directory.agencies:
            broken = system.system_id == self.directory.broken
            paused = system.system_id == self.directory.paused
            self.cursor.execute(
                "INSERT INTO partner_queues (system_id, paused, paused_at, pause_reason, breaker, breaker_since,"
                " breaker_openings, last_error, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    system.system_id,
                    paused,
                    now - timedelta(hours=3) if paused else None,
                    "Đối tác bảo trì hệ thống / partner maintenance" if paused else None,
                    "open" if broken else "closed",
                    now - timedelta(hours=6) if broken else None,
                    3 if broken else 0,
                    ERRORS[0].format(endpoint=system.endpoint) if broken else None,
                    now,
                ),
            )
