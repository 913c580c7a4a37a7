"""Liveness and readiness, the way trusted exchange servers define them.

``/health/live``: the process answers HTTP. ``/health/ready``: it can do its job now – the
database is reachable and writable, its schema is the one this code needs, the keys are loaded and
within their validity, the delivery worker (when it runs in this process) is alive, and the outbox
backlog is under the configured limit. Each check says what it saw; any failure makes the answer
503 with the failing checks named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from connector.errors import ConnectorError
from connector.ops.certificates import certificates, key_problems
from connector.serving.runtime import Runtime
from connector.store import OPEN_STATES, MigrationError, require_up_to_date


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


class CheckFailed(Exception):
    """A probe saw the connector unable to do its job; the message says what it saw."""


def _guarded(name: str, probe: Callable[[], str]) -> Check:
    """A check passes when its probe returns (a detail) and fails with the error it raised."""
    try:
        return Check(name, True, probe())
    except (ConnectorError, MigrationError, CheckFailed) as exc:
        return Check(name, False, " ".join(str(exc).split()))
    except Exception as exc:  # a broken probe must make the answer 503, not a 500
        return Check(name, False, f"{type(exc).__name__}: {' '.join(str(exc).split())}")


def readiness(runtime: Runtime, now: datetime) -> Readiness:
    def database() -> str:
        runtime.store.check_writable()
        state = require_up_to_date(runtime.store.engine)
        return f"{runtime.store.engine.dialect.name} reachable and writable at revision {state.current}"

    def keys() -> str:
        config = runtime.service.config
        problems = key_problems(certificates(config.identity, config.policy.trust_anchors), now)
        if problems:
            raise CheckFailed("; ".join(problems))
        until = config.identity.certificate.not_valid_after_utc
        return f"identity valid until {until:%Y-%m-%d}, {len(config.policy.trust_anchors)} trust anchor(s)"

    def worker() -> str:
        worker = runtime.worker
        if worker is None:
            return "not in this process (delivery.enabled = false or a separate worker process)"
        delivery = runtime.settings.delivery
        stalled_after = delivery.connect_timeout + delivery.read_timeout + 10 * delivery.poll_interval + 5
        if not worker.alive(stalled_after):
            raise CheckFailed(f"the delivery worker thread is {'stalled' if worker.running else 'not running'}")
        return "running"

    def backlog() -> str:
        waiting = sum(s.count for s in runtime.store.outbox_stats(now) if s.state in OPEN_STATES)
        limit = runtime.settings.outbox_backlog_limit
        if waiting > limit:
            raise CheckFailed(f"{waiting} undelivered outbox items, over the limit of {limit}")
        return f"{waiting} undelivered outbox items (limit {limit})"

    return Readiness(
        [
            _guarded("database", database),
            _guarded("keys", keys),
            _guarded("delivery_worker", worker),
            _guarded("outbox_backlog", backlog),
        ]
    )
