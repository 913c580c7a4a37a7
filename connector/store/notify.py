"""PostgreSQL ``LISTEN`` for the outbox channel: a transaction that queues items for a push
partner sends ``NOTIFY connector_outbox, 'SYSTEM_ID'`` (``Gateway._queued_for``), delivered when
it commits; every delivery worker listens on its own connection and wakes that partner's lane.

The listener is quiet through a database outage (the delivery threads log it: ``outage.py``):
it reconnects with a growing pause and, once back, wakes every lane, since notifications sent
while it was away are lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

import psycopg
from sqlalchemy.engine import URL

from connector.store.gateway import OUTBOX_CHANNEL

log = logging.getLogger(__name__)
EVERYONE = "*"


def libpq_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def listen(url: URL, wake: Callable[[Iterable[str]], None], stop: threading.Event) -> None:
    pause = 0.5
    while not stop.is_set():
        try:
            with psycopg.connect(libpq_dsn(url), autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
                wake([EVERYONE])  # anything queued while nobody listened
                pause = 0.5
                while not stop.is_set():
                    for note in conn.notifies(timeout=1.0):
                        wake([note.payload or EVERYONE])
        except psycopg.Error as exc:
            log.debug("outbox listener: %s; reconnecting in %gs", " ".join(str(exc).split()), pause)
            stop.wait(pause)
            pause = min(pause * 2, 30.0)
