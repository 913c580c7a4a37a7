"""A partner's circuit breaker: when a partner is down, stop trying every item and send one
probe per interval; the first call that gets an answer closes it again.

Pure and thread-safe (the partner's delivery threads share one); the worker persists and logs
the transitions it returns. A Client fault counts as an answer: the partner is up.
"""

from __future__ import annotations

import enum
import threading
from datetime import datetime, timedelta

from connector.store import BreakerState


class Permit(enum.Enum):
    CALL = "call"  # the breaker is closed: deliver as usual
    PROBE = "probe"  # the breaker is open and this is the interval's one probe


class CircuitBreaker:
    def __init__(
        self,
        threshold: int,
        probe_interval: float,
        state: BreakerState = BreakerState.CLOSED,
        since: datetime | None = None,
    ) -> None:
        self.threshold = threshold
        self.probe_interval = timedelta(seconds=probe_interval)
        self.state = state
        self.since = since  # when the current state began (None: closed since start-up)
        self._failures = 0
        self._probing = False
        self._next_probe: datetime | None = None  # None while open: probe at once (e.g. after a restart)
        self._lock = threading.Lock()

    @property
    def next_probe(self) -> datetime | None:
        """While open: when the next probe may go (None: closed, or at once)."""
        return self._next_probe if self.state is BreakerState.OPEN else None

    def permit(self, now: datetime) -> Permit | None:
        """May a call be made now? None while open, except for one probe per interval."""
        with self._lock:
            if self.state is BreakerState.CLOSED:
                return Permit.CALL
            if self._probing or (self._next_probe is not None and now < self._next_probe):
                return None
            self._probing = True
            return Permit.PROBE

    def unused(self, permit: Permit) -> None:
        """The permit is done with: a probe that found nothing to deliver (the queue is empty or
        paused) may be taken again; after ``record`` this changes nothing."""
        if permit is Permit.PROBE:
            with self._lock:
                self._probing = False

    def record(self, now: datetime, answered: bool, permit: Permit) -> BreakerState | None:
        """The outcome of a permitted call; returns the new state when this call changed it."""
        with self._lock:
            if permit is Permit.PROBE:
                self._probing = False
            if answered:
                self._failures = 0
                if self.state is BreakerState.OPEN:
                    self.state, self.since = BreakerState.CLOSED, now
                    return BreakerState.CLOSED
                return None
            if self.state is BreakerState.OPEN:
                self._next_probe = now + self.probe_interval
                return None
            self._failures += 1
            if self._failures < self.threshold:
                return None
            self.state, self.since, self._next_probe = BreakerState.OPEN, now, now + self.probe_interval
            return BreakerState.OPEN

    def trip(self, now: datetime, permit: Permit) -> BreakerState | None:
        """Open at once, whatever the count: the partner answered, but refuses the connector's
        credentials (an operator must fix them; probing goes on every interval meanwhile)."""
        with self._lock:
            if permit is Permit.PROBE:
                self._probing = False
            self._failures = 0
            self._next_probe = now + self.probe_interval
            if self.state is BreakerState.OPEN:
                return None
            self.state, self.since = BreakerState.OPEN, now
            return BreakerState.OPEN
