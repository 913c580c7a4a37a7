"""One serving process: its runtime, its WSGI application and its background threads.

The same assembly behind every way of running the connector: ``server.py`` (waitress, one
process or ``--workers N`` children on one port) and ``connector.wsgi`` (gunicorn or any WSGI
server). Which background threads a process runs is the caller's choice:

- the **delivery worker** may run in every process: a claim is one ``UPDATE`` under a lease (and
  ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several workers share the outbox without taking
  an item twice, and a killed process's items come back when their lease ends;
- the **evidence notary** (signing the chain's head every ``evidence_sign_interval`` when it
  moved) needs one process per deployment; more add redundant signatures of the head, no harm.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from connector.config import Settings
from connector.delivery.axis_poller import AxisPoller
from connector.delivery.worker import DeliveryWorker
from connector.serving import memory
from connector.serving.app import ConnectorApp
from connector.serving.runtime import Runtime, build_axis_poller, build_runtime, build_worker

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class ServingProcess:
    runtime: Runtime
    app: ConnectorApp
    wsgi: WsgiApp
    """``app`` as it is served: wrapped to return memory after large requests."""
    worker: DeliveryWorker | None
    notary: threading.Event | None  # set() stops the notary's thread
    axis_poller: AxisPoller | None = None  # the national axis's inbound poller (vxp systems)

    def start_background(self, delivery: bool, notary: bool, role: str = "server-8080-0") -> None:
        """Start the delivery worker and the notary, each when asked and configured. ``role``:
        which of this node's processes this is (``build_worker``)."""
        if delivery and self.runtime.settings.delivery.enabled:
            self.worker = build_worker(self.runtime, role).start()
            if self.runtime.settings.delivery.axis_poll_interval > 0:
                self.axis_poller = build_axis_poller(self.runtime).start()
        interval = self.runtime.settings.evidence_sign_interval
        if notary and interval > 0:
            self.notary = self.runtime.notary.start(interval)

    def close(self, delivery_wait: float | None = None) -> None:
        """Stop the background threads and close the store. ``delivery_wait``: seconds to wait
        for a partner call in flight (default: its read timeout); after that it is abandoned."""
        if self.worker is not None:
            self.worker.stop(delivery_wait)
        if self.axis_poller is not None:
            self.axis_poller.stop()
        if self.notary is not None:
            self.notary.set()
        self.runtime.close()


def build_process(settings: Settings) -> ServingProcess:
    """The runtime and the application, nothing started yet. Call before any thread starts:
    it sets the process's malloc arenas (``connector/serving/memory.py``)."""
    memory.limit_arenas(settings.malloc_arena_max)
    memory.pin_mmap_threshold(settings.malloc_mmap_threshold)
    runtime = build_runtime(settings)
    app = ConnectorApp(runtime)
    return ServingProcess(runtime, app, memory.TrimAfterLargeRequests(app, settings.trim_after_bytes), None, None)
