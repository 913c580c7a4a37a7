"""The store's outage as the delivery worker sees it: quiet, and backing off.

While the database is down every poll of every delivery thread fails. Instead of a traceback per
thread per poll, the outage is logged **once when it starts** (with the driver's error), **a
summary every** ``summary_interval`` while it lasts (how long, how many failed polls, the last
error) and **once when it ends**; the metrics ``connector_store_unavailable`` and
``connector_store_failed_polls_total`` and readiness's ``database`` check say the rest. Each
thread's poll backs off with the outage's age – half of it, at least ``min_delay`` and at most
``max_delay`` – so a long outage costs a few queries a minute, and recovery is noticed within
``max_delay``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from connector.errors import StoreUnavailableError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutagePolicy:
    min_delay: float = 0.5
    max_delay: float = 30.0
    summary_interval: float = 60.0


class StoreOutage:
    """Shared by a worker's threads (thread-safe)."""

    def __init__(
        self,
        policy: OutagePolicy,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[bool | None], None] | None = None,
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.on_change = on_change or (lambda started: None)
        self._lock = threading.Lock()
        self._started: float | None = None
        self._failures = 0
        self._last_summary = 0.0
        self._last_error = ""

    @property
    def down(self) -> bool:
        return self._started is not None

    def failed(self, exc: StoreUnavailableError) -> float:
        """A poll found the store unavailable: log as the module says; returns the seconds to wait."""
        now = self.clock()
        with self._lock:
            self._failures += 1
            self._last_error = exc.detail
            if self._started is None:
                self._started = self._last_summary = now
                log.warning(
                    "store unavailable: %s; delivery waits for it (polls back off up to %gs; "
                    "a summary every %gs until it answers)",
                    exc.detail,
                    self.policy.max_delay,
                    self.policy.summary_interval,
                )
                self.on_change(True)
            else:
                self.on_change(None)
                if now - self._last_summary >= self.policy.summary_interval:
                    self._last_summary = now
                    log.warning(
                        "store still unavailable after %.0fs (%s failed polls); last error: %s",
                        now - self._started,
                        self._failures,
                        self._last_error,
                    )
            age = now - self._started
        return min(self.policy.max_delay, max(self.policy.min_delay, age / 2))

    def succeeded(self) -> None:
        """A poll reached the store: ends the outage, if there was one."""
        if self._started is None:  # the common case, without the lock
            return
        with self._lock:
            if self._started is None:
                return
            log.warning(
                "store available again after %.0fs (%s failed polls); delivery resumes",
                self.clock() - self._started,
                self._failures,
            )
            self._started, self._failures = None, 0
            self.on_change(False)
