"""Waking idle delivery threads when there is work, so that idle ones can poll slowly.

- **In the process**: the store tells its ``on_outbox`` listeners which partners a committed
  transaction queued items for; ``Wakeup.notify`` wakes those partners' lanes at once.
- **Between processes and nodes** (PostgreSQL): the same transaction sends ``NOTIFY`` on the
  channel ``connector_outbox`` with the partner's system id; a listener thread of each worker
  (``Store.listen_outbox``) wakes its lanes. A listener that lost its connection wakes everyone
  once it is back (it may have missed notifications).

Nothing depends on a wake-up arriving: each thread still looks every ``poll_interval`` (and at
the retry time of an item it scheduled itself), so a lost signal costs latency, never an item.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

EVERYONE = "*"


class Wakeup:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generations: dict[str, int] = {}

    def generation(self, system_id: str) -> tuple[int, int]:
        """What the lane has seen; a thread that found nothing waits only if this is unchanged."""
        with self._cond:
            return self.generation_unlocked(system_id)

    def notify(self, systems: Iterable[str] = (EVERYONE,)) -> None:
        with self._cond:
            for system_id in systems:
                self._generations[system_id] = self._generations.get(system_id, 0) + 1
            self._cond.notify_all()

    def wait(self, system_id: str, seen: tuple[int, int], timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for work for ``system_id`` (or everyone) announced after
        ``seen``; True when woken."""
        with self._cond:
            return self._cond.wait_for(lambda: self.generation_unlocked(system_id) != seen, timeout)

    def generation_unlocked(self, system_id: str) -> tuple[int, int]:
        return self._generations.get(system_id, 0), self._generations.get(EVERYONE, 0)
