"""Failed attempts, counted under several keys in a sliding window, answered with growing delays
instead of a lock.

A key is what a failure is counted under (``Counter``): the pair (username, client address), the
client address alone, the username from anywhere (``connector/auth/authenticator.py``; the
console's own keys in ``connector/admin/app.py``). Once a key has ``limit`` failures within the
window, an attempt under it waits: ``first_delay`` after the last failure, doubled by every
further failure, at most ``max_delay``; attempts refused while waiting are not counted. Nothing
is ever locked for longer, and since the keys name an address, failures from one address never
make another address wait (only the username key does, and the authenticator consults it only
for addresses outside the system's declared ``networks``).

Two counts, both consulted: ``FailureLimiter`` in this process's memory (at once, bounded: at
most ``max_keys`` keys, the least recently failed forgotten first), and ``SharedFailures`` in the
database, where every process and node records its failures, so that spreading guesses over N
processes does not buy N times the limit. The shared one is read at most once per ``refresh``
seconds (the keys at their limit, one grouped query), so a request pays no query for it.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.clock import utcnow
from connector.errors import ConnectorError
from connector.store import CredentialStore

log = logging.getLogger(__name__)
_MAX_EXCESS = 32  # failures beyond the limit that still lengthen the wait (2^32 × anything is the cap)


@dataclass(frozen=True)
class Counter:
    """A key failures are counted under, with the number of failures it is allowed."""

    key: str
    limit: int


@dataclass(frozen=True)
class Delays:
    window: float
    """Seconds over which failures are counted."""
    first_delay: float
    """Seconds to wait after the failure that reached a key's limit; doubled by each further one."""
    max_delay: float
    """The longest wait."""

    def wait(self, count: int, limit: int, last: float, now: float) -> float:
        """Seconds still to wait under a key with ``count`` failures, the last at ``last``."""
        if limit <= 0 or count < limit:
            return 0.0
        delay = min(self.first_delay * 2 ** min(count - limit, _MAX_EXCESS), self.max_delay)
        return max(0.0, last + delay - now)


@dataclass(frozen=True)
class Wait:
    """Why an attempt must wait, and how long."""

    key: str
    seconds: float

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.seconds))


def address_key(address: str) -> str:
    """The client address as failures are counted: an IPv6 address by its /64 (one subscriber's
    network: its owner has all of it), anything else as given."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


class FailureLimiter:
    """This process's failures, in memory; ``clock`` is seconds (wall or monotonic, one kind)."""

    def __init__(self, delays: Delays, max_keys: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        self.delays = delays
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, counters: Iterable[Counter]) -> Wait | None:
        """The longest wait any of the counters imposes, if any."""
        now = self._clock()
        longest: Wait | None = None
        with self._lock:
            for counter in counters:
                failures = self._failures.get(counter.key)
                if failures is None:
                    continue
                while failures and failures[0] <= now - self.delays.window:
                    failures.popleft()
                if not failures:
                    continue
                seconds = self.delays.wait(len(failures), counter.limit, failures[-1], now)
                if seconds > 0 and (longest is None or seconds > longest.seconds):
                    longest = Wait(counter.key, seconds)
        return longest

    def failed(self, counters: Iterable[Counter]) -> None:
        now = self._clock()
        with self._lock:
            for counter in counters:
                failures = self._failures.pop(counter.key, None)
                if failures is None:
                    failures = deque(maxlen=max(1, counter.limit) + _MAX_EXCESS)
                failures.append(now)
                self._failures[counter.key] = failures  # most recent last
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)


class SharedFailures:
    """The failures of every process sharing the database. A store that cannot be reached
    leaves the in-memory limiter alone in charge (logged), never a refused request."""

    def __init__(
        self,
        credentials: CredentialStore,
        delays: Delays,
        floor: int,
        refresh: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = utcnow,
    ) -> None:
        """``floor``: the smallest limit of any counter (keys with fewer failures are not read)."""
        self.credentials = credentials
        self.delays = delays
        self.floor = max(1, floor)
        self.refresh = refresh
        self._clock = clock
        self._wall = wall
        self._counts: dict[str, tuple[int, datetime]] = {}
        self._read_at: float | None = None
        self._unread = False  # the last read failed (the store is unavailable)
        self._lock = threading.Lock()

    def wait(self, counters: Iterable[Counter]) -> Wait | None:
        """The longest wait on any process, as last read (at most ``refresh`` s ago)."""
        now = self._clock()
        if self._read_at is None or now - self._read_at >= self.refresh:
            with self._lock:
                if self._read_at is None or now - self._read_at >= self.refresh:
                    self._read_at = now
                    since = self._wall() - timedelta(seconds=self.delays.window)
                    try:
                        self._counts = self.credentials.failure_counts(since, self.floor)
                    except ConnectorError as exc:  # logged once per outage, not once a second
                        if not self._unread:
                            log.warning("shared failure counts not read: %s", getattr(exc, "detail", exc.message))
                        self._unread = True
                    else:
                        if self._unread:
                            log.warning("shared failure counts read again")
                        self._unread = False
        wall = self._wall().timestamp()
        longest: Wait | None = None
        for counter in counters:
            found = self._counts.get(counter.key)
            if found is None:
                continue
            seconds = self.delays.wait(found[0], counter.limit, found[1].timestamp(), wall)
            if seconds > 0 and (longest is None or seconds > longest.seconds):
                longest = Wait(counter.key, seconds)
        return longest

    def failed(self, counters: Iterable[Counter]) -> None:
        at = self._wall()
        try:
            self.credentials.record_failures([c.key for c in counters], at, at - timedelta(seconds=self.delays.window))
        except ConnectorError as exc:
            log.warning("failed attempt not recorded for other processes: %s", exc.message)
        # Not read again at once: under a flood of guesses that would be a grouped query per
        # guess. This process's own failures count at once in ``FailureLimiter``.


class AttemptGuard:
    """Both counts together: what the authenticator and the console's login ask."""

    def __init__(
        self,
        credentials: CredentialStore,
        delays: Delays,
        floor: int,
        wall: Callable[[], datetime] = utcnow,
    ) -> None:
        self.local = FailureLimiter(delays, clock=lambda: wall().timestamp())
        self.shared = SharedFailures(credentials, delays, floor, wall=wall)

    def wait(self, counters: Sequence[Counter]) -> Wait | None:
        waits = [w for w in (self.local.wait(counters), self.shared.wait(counters)) if w is not None]
        return max(waits, key=lambda w: w.seconds, default=None)

    def failed(self, counters: Sequence[Counter]) -> None:
        self.local.failed(counters)
        self.shared.failed(counters)
