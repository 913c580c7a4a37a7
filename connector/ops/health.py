"""Liveness and readiness, the way trusted exchange servers define them.

``/health/live``: the process answers HTTP. ``/health/ready``: it can do its job now – the
database is reachable and writable, its schema is the one this code needs, the keys are loaded and
within their validity, the delivery worker (when it runs in this process) is alive, and the outbox
backlog is under the configured limit, and the disk the database writes to has room
(``min_free_disk_bytes``; the database check commits a write, so a full disk fails it too, saying
why). Each check says what it saw; any failure makes the answer
503 with the failing checks named.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from cryptography import x509

from connector.errors import ConnectorError, SimpleError, StoreUnavailableError
from connector.ops.certificates import certificates, key_problems
from connector.store import OPEN_STATES, MigrationError, Store, require_up_to_date
from signing import SigningIdentity


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    checks: list[Check]

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ready" if self.ready else "not ready",
            "failing": [c.name for c in self.checks if not c.ok],
            "checks": {c.name: {k: v for k, v in asdict(c).items() if k != "name"} for c in self.checks},
        }


class CheckFailedError(SimpleError):
    """A probe saw the connector unable to do its job; the message says what it saw."""


def _guarded(name: str, probe: Callable[[], str]) -> Check:
    """A check passes when its probe returns (a detail) and fails with the error it raised."""
    try:
        return Check(name, True, probe())
    except StoreUnavailableError as exc:  # the operator reads the driver's words, a caller never does
        return Check(name, False, exc.detail)
    except (ConnectorError, MigrationError, CheckFailedError) as exc:
        return Check(name, False, " ".join(str(exc).split()))
    except Exception as exc:  # a broken probe must make the answer 503, not a 500
        return Check(name, False, f"{type(exc).__name__}: {' '.join(str(exc).split())}")


class Worker(Protocol):
    running: bool

    def alive(self, stalled_after: float) -> bool: ...


@dataclass(frozen=True)
class ReadinessParts:
    """What readiness looks at, given by the serving layer (``Runtime.readiness_parts``)."""

    store: Store
    identity: SigningIdentity
    trust_anchors: tuple[x509.Certificate, ...]
    worker: Worker | None
    """This process's delivery worker, if it runs one."""
    stalled_after: float
    """Seconds without a sign of life after which the worker counts as stalled."""
    backlog_limit: int
    disk: Path | None = None
    """The directory whose filesystem the store writes to (SQLite's), if it is local."""
    min_free_disk_bytes: int = 0


def readiness(parts: ReadinessParts, now: datetime) -> Readiness:
    store = parts.store

    def database() -> str:
        store.check_writable()
        state = require_up_to_date(store.engine)
        return f"{store.engine.dialect.name} reachable and writable at revision {state.current}"

    def storage() -> str:
        if parts.disk is None:
            return "the database is not on a local disk (the database check writes to it)"
        free = shutil.disk_usage(parts.disk).free
        if free < parts.min_free_disk_bytes:
            raise CheckFailedError(
                f"the disk of {parts.disk} has {free:,} bytes free, under min_free_disk_bytes = "
                f"{parts.min_free_disk_bytes:,}: writes (each request's nonce, every send) will fail"
            )
        return f"{free:,} bytes free on the disk of {parts.disk}"

    def keys() -> str:
        problems = key_problems(certificates(parts.identity, parts.trust_anchors), now)
        if problems:
            raise CheckFailedError("; ".join(problems))
        until = parts.identity.certificate.not_valid_after_utc
        return f"identity valid until {until:%Y-%m-%d}, {len(parts.trust_anchors)} trust anchor(s)"

    def worker() -> str:
        worker = parts.worker
        if worker is None:
            return "not in this process (delivery.enabled = false or a separate worker process)"
        if not worker.alive(parts.stalled_after):
            raise CheckFailedError(f"the delivery worker thread is {'stalled' if worker.running else 'not running'}")
        return "running"

    def backlog() -> str:
        waiting = sum(s.count for s in store.outbox_stats(now) if s.state in OPEN_STATES)
        limit = parts.backlog_limit
        if waiting > limit:
            raise CheckFailedError(f"{waiting} undelivered outbox items, over the limit of {limit}")
        return f"{waiting} undelivered outbox items (limit {limit})"

    return Readiness(
        [
            _guarded("database", database),
            _guarded("storage", storage),
            _guarded("keys", keys),
            _guarded("delivery_worker", worker),
            _guarded("outbox_backlog", backlog),
        ]
    )
