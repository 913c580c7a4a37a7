"""Failed authentication attempts, counted per username and per client address in a sliding
window; once a key reaches the limit, every attempt under it is refused until old failures age out.

Two counters, both consulted: ``FailureLimiter`` in this process's memory (at once, bounded: at
most ``max_keys`` keys, the least recently failed forgotten first), and ``SharedFailures`` in
the database, where every process and node records its failures, so that spreading guesses over
N processes does not buy N times the limit. The shared one is read at most once per
``refresh`` seconds (the keys at the limit, one query), so a request pays no query for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from connector.clock import utcnow
from connector.errors import ConnectorError
from connector.store import CredentialStore

log = logging.getLogger(__name__)


class FailureLimiter:
    def __init__(
        self, max_failures: int, window: float, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def blocked(self, keys: Iterable[str]) -> str | None:
        """The first key that has reached the limit, if any."""
        now = self._clock()
        with self._lock:
            for key in keys:
                failures = self._failures.get(key)
                if failures is None:
                    continue
                while failures and failures[0] <= now - self.window:
                    failures.popleft()
                if len(failures) >= self.max_failures:
                    return key
        return None

    def failed(self, keys: Iterable[str]) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                failures = self._failures.pop(key, None) or deque(maxlen=self.max_failures)
                failures.append(now)
                self._failures[key] = failures  # most recent last
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)


class SharedFailures:
    """The failures of every process sharing the database. A store that cannot be reached
    leaves the in-memory limiter alone in charge (logged), never a refused request."""

    def __init__(
        self,
        credentials: CredentialStore,
        max_failures: int,
        window: float,
        refresh: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = utcnow,
    ) -> None:
        self.credentials = credentials
        self.max_failures = max_failures
        self.window = timedelta(seconds=window)
        self.refresh = refresh
        self._clock = clock
        self._wall = wall
        self._at_limit: frozenset[str] = frozenset()
        self._read_at: float | None = None
        self._unread = False  # the last read failed (the store is unavailable)
        self._lock = threading.Lock()

    def blocked(self, keys: Iterable[str]) -> str | None:
        """The first key at the limit on any process, as last read (at most ``refresh`` s ago)."""
        now = self._clock()
        if self._read_at is None or now - self._read_at >= self.refresh:
            with self._lock:
                if self._read_at is None or now - self._read_at >= self.refresh:
                    self._read_at = now
                    try:
                        self._at_limit = self.credentials.keys_at_limit(self._wall() - self.window, self.max_failures)
                    except ConnectorError as exc:  # logged once per outage, not once a second
                        if not self._unread:
                            log.warning("shared failure counts not read: %s", getattr(exc, "detail", exc.message))
                        self._unread = True
                    else:
                        if self._unread:
                            log.warning("shared failure counts read again")
                        self._unread = False
        return next((key for key in keys if key in self._at_limit), None)

    def failed(self, keys: Iterable[str]) -> None:
        at = self._wall()
        try:
            self.credentials.record_failures(list(keys), at, at - self.window)
        except ConnectorError as exc:
            log.warning("failed attempt not recorded for other processes: %s", exc.message)
        # Not read again at once: under a flood of guesses that would be a grouped query per
        # guess. This process's own failures count at once in ``FailureLimiter``.
