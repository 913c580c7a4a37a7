"""Schema migrations (Alembic): bring a store to the head revision, or say where it stands.

Revisions live in ``connector/store/migrations/versions``. A database made by the release before
migrations (``create_all``: the baseline tables and no ``alembic_version``) is recognised and
stamped with the baseline revision first, so it upgrades like any other. Upgrades are serialised
between processes (a lock file beside a SQLite database, an advisory lock on PostgreSQL): several
processes may start on one database at the same moment.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from connector.errors import SimpleError
from connector.store import search

if TYPE_CHECKING:
    from alembic.config import Config

# alembic itself is imported where it is used: every command line imports the store, and most
# commands never migrate (importing alembic costs more than the rest of the store together).

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"
# The tables of the baseline revision: what a released create_all database holds.
BASELINE_TABLES = frozenset(
    {
        "accounts",
        "attachments",
        "attempts",
        "events",
        "exchanges",
        "messages",
        "organizations",
        "outbox",
        "package_attachments",
        "packages",
        "procedures",
        "systems",
        "username_map",
    }
)
_PG_LOCK_KEY = 0x65_64_78_6D_6C  # "edxml": one advisory lock id for the connector's migrations

log = logging.getLogger(__name__)


class MigrationError(SimpleError):
    """The database cannot be brought to (or is not at) the revision this code needs."""


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: no alembic_version (empty, or a released create_all database)
    head: str
    released_unversioned: bool  # the baseline tables without alembic_version
    empty: bool

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def comparison_options(dialect: str) -> dict[str, Any]:
    """How a database is compared with ``tables.metadata`` (autogenerate, and the test that the
    head revision is exactly it): types too, and each backend's own search index only."""
    return {"compare_type": True, "include_object": search.compared(dialect)}


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the baseline revision always exists
    return head


def schema_state(engine: Engine) -> SchemaState:
    try:
        with engine.connect() as conn:
            return _state(conn)
    except OperationalError as exc:
        raise MigrationError(f"the database cannot be reached: {' '.join(str(exc.orig).split())}") from None


def _state(conn: Connection) -> SchemaState:
    from alembic.runtime.migration import MigrationContext

    current = MigrationContext.configure(conn).get_current_revision()
    tables = set(inspect(conn).get_table_names())
    released = current is None and tables >= BASELINE_TABLES
    return SchemaState(current, head_revision(), released, not tables)


def upgrade_schema(engine: Engine, revision: str = "head") -> SchemaState:
    """Upgrade to ``revision`` (stamping a released unversioned database first); returns the
    state before the upgrade."""
    from alembic import command

    with _migration_lock(engine), engine.begin() as conn:
        before = _state(conn)
        tables = set(inspect(conn).get_table_names())
        if before.current is None and tables and not before.released_unversioned:
            ours = sorted(tables & BASELINE_TABLES)
            raise MigrationError(
                f"the database has tables ({', '.join(sorted(tables)[:5])}...) but no alembic_version and not the "
                f"released schema (only {len(ours)} of its {len(BASELINE_TABLES)} tables): not upgrading it"
            )
        config = alembic_config()
        config.attributes["connection"] = conn
        if before.released_unversioned:
            command.stamp(config, BASELINE)
        command.upgrade(config, revision)
    if before.current != before.head:
        log.info("schema migrated from %s to %s", before.current or "an empty database", before.head)
    return before


def require_up_to_date(engine: Engine) -> SchemaState:
    state = schema_state(engine)
    if state.empty:
        raise MigrationError("the database has no tables yet: run `python -m connector db upgrade`")
    if not state.up_to_date:
        where = "the released schema without a revision" if state.released_unversioned else f"revision {state.current}"
        raise MigrationError(
            f"the database is at {where}; this version needs {state.head}: run `python -m connector db upgrade`"
        )
    return state


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
            try:
                yield
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
                lock.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
