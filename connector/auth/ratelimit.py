"""Failed authentication attempts, counted per username and per client address in a sliding
window; once a key reaches the limit, every attempt under it is refused until old failures age out.

In memory, per process (several processes each count their own); bounded: at most ``max_keys``
keys are tracked, the least recently failed forgotten first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable


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
