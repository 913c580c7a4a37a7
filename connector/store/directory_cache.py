"""The directory as the request path reads it: an in-memory snapshot of the directory tables.

Every request looks up its caller's system, the procedure, the organisations, the accounts and
the username map: seven queries, a fifth of a request's time, for data that changes when an
operator imports a directory. So each process keeps a snapshot and, at most once per
``max_age`` seconds, reads the one-row ``directory_generation`` that every import bumps in its
own transaction; only a changed generation reloads the tables. A process that imports drops
its own snapshot at once; every other process (another worker, node or the command line's
import into a running server's database) sees the change within ``max_age``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from connector.exchange.directory import (
    Account,
    DeliveryMode,
    OrganizationEntry,
    PartnerAuth,
    Procedure,
    Protocol,
    SystemEntry,
    SystemKind,
)
from connector.exchange.states import DocumentKind
from connector.store import tables as t

MAX_AGE_SECONDS = 1.0


@dataclass(frozen=True)
class DirectorySnapshot:
    generation: int
    organizations: dict[str, OrganizationEntry]
    systems: dict[str, SystemEntry]
    system_of: dict[tuple[str, SystemKind], SystemEntry]
    """(organ id, kind) → the organisation's system of that kind (the first, as the table lists them)."""
    accounts: dict[str, Account]
    username_map: dict[str, str]
    procedures: dict[str, Procedure]


def system_entry(row: object) -> SystemEntry:
    m = row._mapping  # type: ignore[attr-defined]
    agencies = tuple(a for a in (m["agencies"] or "").split(";") if a)
    networks = tuple(n for n in (m["networks"] or "").split(";") if n)
    return SystemEntry(
        m["system_id"],
        m["organ_id"],
        SystemKind(m["kind"]),
        m["endpoint"],
        DeliveryMode(m["mode"]),
        agencies,
        Protocol(m["protocol"] or "soap"),
        PartnerAuth.from_json(json.loads(m["auth"])) if m["auth"] else None,
        tuple(json.loads(m["headers"]).items()) if m["headers"] else (),
        m["gateway_application"],
        networks,
    )


def organization_entry(row: object) -> OrganizationEntry:
    m = row._mapping  # type: ignore[attr-defined]
    aliases = tuple(a for a in (m["aliases"] or "").split(";") if a)
    return OrganizationEntry(m["organ_id"], m["name"], m["clerk_account"], aliases)


def procedure_entry(row: object) -> Procedure:
    m = row._mapping  # type: ignore[attr-defined]
    return Procedure(m["code"], m["name"], m["agency_id"], DocumentKind(m["default_kind"]), bool(m["interconnection"]))


def generation(conn: Connection) -> int:
    return conn.execute(select(func.coalesce(func.max(t.directory_generation.c.generation), 0))).scalar_one()


def bump_generation(conn: Connection) -> None:
    """Called in the transaction that changes the directory tables."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(t.directory_generation).values(id=1, generation=1)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["id"], set_={"generation": t.directory_generation.c.generation + 1}
        )
    )


def load(conn: Connection) -> DirectorySnapshot:
    systems = [system_entry(r) for r in conn.execute(select(t.systems))]
    organizations = [organization_entry(r) for r in conn.execute(select(t.organizations))]
    # An organisation's aliases (its other code, QCVN 102 or QĐ 20/2020) find it too.
    canonical = {alias: o.organ_id for o in organizations for alias in o.aliases}
    by_code = {o.organ_id: o for o in organizations}
    by_code |= {alias: by_code[organ_id] for alias, organ_id in canonical.items() if alias not in by_code}
    system_of: dict[tuple[str, SystemKind], SystemEntry] = {}
    for system in systems:
        system_of.setdefault((system.organ_id, system.kind), system)
    for alias, organ_id in canonical.items():
        for kind in SystemKind:
            if (organ_id, kind) in system_of:
                system_of.setdefault((alias, kind), system_of[(organ_id, kind)])
    return DirectorySnapshot(
        generation=generation(conn),
        organizations=by_code,
        systems={s.system_id: s for s in systems},
        system_of=system_of,
        accounts={r.username: Account(**r._mapping) for r in conn.execute(select(t.accounts))},
        username_map={r.onestop_username: r.docmgmt_username for r in conn.execute(select(t.username_map))},
        procedures={p.code: p for p in (procedure_entry(r) for r in conn.execute(select(t.procedures)))},
    )


class DirectoryCache:
    """The process's snapshot; thread-safe (one thread reloads, the others keep reading the old one)."""

    def __init__(
        self,
        read: Callable[[], AbstractContextManager[Connection]],
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._max_age = max_age
        self._clock = clock
        self._snapshot: DirectorySnapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> DirectorySnapshot:
        snapshot = self._snapshot
        if snapshot is not None and self._clock() - self._checked_at < self._max_age:
            return snapshot
        with self._lock:
            if self._snapshot is not None and self._clock() - self._checked_at < self._max_age:
                return self._snapshot  # another thread has just checked
            with self._read() as conn:
                if self._snapshot is None or generation(conn) != self._snapshot.generation:
                    self._snapshot = load(conn)
            self._checked_at = self._clock()
            return self._snapshot

    def invalidate(self) -> None:
        self._snapshot = None
