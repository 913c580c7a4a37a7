"""Nonces remembered in the process while the store cannot record them (a full disk, a
read-only database): a request that only reads – ``getStatus``, ``listPending`` – still works
when the store can be read but not written.

The trade-off, stated: while the store refuses writes, a replayed token is caught only by the
process that saw it first (several ``--workers`` processes or nodes do not share this memory).
A replay within the ``Created`` window gains nothing that needs a write – every write fails
until the store is writable again, and from then on nonces are recorded in the store as before.
"""

from __future__ import annotations

import threading
from datetime import datetime

MAX_REMEMBERED = 100_000  # a bound on memory: beyond it, the oldest are forgotten first


class MemoryNonces:
    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def seen(self, nonce: str, username: str, forget_before: datetime) -> bool:
        """Whether this process kept the nonce in memory within the window (no lock: a read)."""
        at = self._seen.get(f"{username}\0{nonce}")
        return at is not None and at >= forget_before

    def use(self, nonce: str, username: str, now: datetime, forget_before: datetime) -> bool:
        """Record a nonce; False if this process saw it already within the window."""
        key = f"{username}\0{nonce}"
        with self._lock:
            if len(self._seen) >= MAX_REMEMBERED:
                self._seen = {k: at for k, at in self._seen.items() if at >= forget_before}
                while len(self._seen) >= MAX_REMEMBERED:
                    self._seen.pop(next(iter(self._seen)))
            if key in self._seen and self._seen[key] >= forget_before:
                return False
            self._seen[key] = now
            return True
