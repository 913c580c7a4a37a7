"""The directory in the store: imported whole, read whole by operators, and looked up on the
request path from the process's snapshot (``directory_cache`` says when it is refreshed)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import Connection, delete, func, select

from connector.clock import utcnow
from connector.exchange.directory import (
    Account,
    Directory,
    OrganizationEntry,
    Procedure,
    SystemEntry,
    SystemKind,
    UsernameMapping,
)
from connector.exchange.directory_merge import KEYS, ChangeKind, DirectoryPlan, plan_import
from connector.store import directory_cache
from connector.store import outbox as ob
from connector.store import tables as t
from connector.store.gateway import Gateway, column_value
from connector.store.records import BreakerState

TABLES = {
    "organizations": t.organizations,
    "systems": t.systems,
    "accounts": t.accounts,
    "username_map": t.username_map,
    "procedures": t.procedures,
}


class DirectoryGateway(Gateway):
    def import_directory(self, directory: Directory, *, replace: bool = False, dry_run: bool = False) -> DirectoryPlan:
        """Merge ``directory`` into the stored one (``replace``: make it the whole directory);
        returns what changed (``dry_run``: what would change, nothing written). A system whose
        endpoint changed gets a closed circuit breaker and its queue due at once: an open breaker
        was about the old address (or about having none)."""
        with self._tx() as conn:
            plan = plan_import(self._read_directory(conn), directory, replace=replace)
            if dry_run or not plan.changes:
                return plan
            for section, table in TABLES.items():
                removed = plan.removed(section)
                if removed:
                    key = KEYS[section][0]
                    conn.execute(delete(table).where(table.c[key].in_(removed)))
                rows = [{k: column_value(v) for k, v in dataclasses.asdict(r).items()} for r in plan.changed(section)]
                self._upsert(conn, table, rows)
            now = utcnow()
            for change in plan.changes:
                moved = change.kind is ChangeKind.CHANGE and any(f.name == "endpoint" for f in change.fields)
                queue = ob.queues(conn).get(change.key) if change.section == "systems" and moved else None
                if queue is not None and queue.breaker is BreakerState.OPEN:
                    ob.set_breaker(conn, change.key, BreakerState.CLOSED, None, now)
                    ob.reschedule_now(conn, change.key, now)
            directory_cache.bump_generation(conn)
        self._directory.invalidate()
        return plan

    def directory(self) -> Directory:
        with self._read() as conn:
            return self._read_directory(conn)

    @staticmethod
    def _read_directory(conn: Connection) -> Directory:
        return Directory(
            organizations=[directory_cache.organization_entry(r) for r in conn.execute(select(t.organizations))],
            systems=[directory_cache.system_entry(r) for r in conn.execute(select(t.systems))],
            accounts=[Account(**r._mapping) for r in conn.execute(select(t.accounts))],
            username_map=[UsernameMapping(**r._mapping) for r in conn.execute(select(t.username_map))],
            procedures=[directory_cache.procedure_entry(r) for r in conn.execute(select(t.procedures))],
        )

    def directory_is_empty(self) -> bool:
        with self._read() as conn:
            return conn.execute(select(func.count()).select_from(t.organizations)).scalar_one() == 0

    # The request path's lookups, from the process's snapshot (``directory_cache`` says when it
    # is refreshed).
    def organization(self, organ_id: str) -> OrganizationEntry | None:
        return self._directory.get().organizations.get(organ_id)

    def system(self, system_id: str) -> SystemEntry | None:
        return self._directory.get().systems.get(system_id)

    def system_for_gateway_application(self, application: str) -> SystemEntry | None:
        """The system an API gateway's application name stands for (``systems[].gateway_application``)."""
        systems = self._directory.get().systems.values()
        return next((s for s in systems if s.gateway_application == application), None)

    def system_for(self, organ_id: str, kind: SystemKind) -> SystemEntry | None:
        return self._directory.get().system_of.get((organ_id, kind))

    def account(self, username: str) -> Account | None:
        return self._directory.get().accounts.get(username)

    def mapped_username(self, onestop_username: str) -> str | None:
        return self._directory.get().username_map.get(onestop_username)

    def procedure(self, code: str) -> Procedure | None:
        return self._directory.get().procedures.get(code)
