"""Activity over time, for the console's charts: per bucket of a window, what was accepted,
delivered and failed, and how many items were waiting at each bucket's end.

Each count is one grouped query over an index range of its time column (migration 0011): the
database computes every row's bucket (whole seconds since the window's start, divided by the
bucket's width) and hands back a few dozen counts, however many rows the window holds.

The backlog is not stored over time; it is derived backwards from the items open now. An item
enters the backlog when it is queued (``outbox.created_at``) or when an operator retries it
after it died (the evidence log's ``retry`` records: the only way back from ``dead``), and
leaves it with a delivered or dead attempt (``attempts``). So the level at the end of a bucket is
the level at the end of the next one, minus what entered during that next one, plus what left;
everything from the window's start on is counted, so the window may end before now.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Connection, cast, extract, func, select

from connector.store import tables as t
from connector.store.evidence import record_of
from connector.store.gateway import Gateway
from connector.store.records import OPEN_STATES, Activity, AttemptOutcome, EvidenceKind

_OPEN = [s.value for s in OPEN_STATES]
_FAILED = {AttemptOutcome.RETRY.value, AttemptOutcome.DEAD.value}
_LEFT = {AttemptOutcome.DELIVERED.value, AttemptOutcome.DEAD.value}
_CHUNK = 500  # item ids per IN (...): well under SQLite's limit on parameters


class ActivityGateway(Gateway):
    def activity(self, start: datetime, width: timedelta, count: int, system_id: str | None = None) -> Activity:
        """``count`` buckets of ``width`` from ``start`` (the last should hold now), for every
        partner or for ``system_id`` alone (then "accepted" is the items queued for it)."""
        window = _Window(start, width, self._postgresql)
        o, a = t.outbox, t.attempts
        mine = [o.c.system_id == system_id] if system_id is not None else []
        with self._read() as conn:
            queued = window.counts(conn, o, o.c.created_at, mine)
            accepted = (
                queued if system_id is not None else window.counts(conn, t.exchanges, t.exchanges.c.created_at, [])
            )
            attempts_of = a.join(o, o.c.item_id == a.c.item_id) if system_id is not None else a
            outcomes = window.counts(conn, attempts_of, a.c.at, mine, a.c.outcome)
            open_now = conn.execute(select(func.count()).select_from(o).where(o.c.state.in_(_OPEN), *mine)).scalar_one()
            reopened = window.reopened(conn, system_id)
        # Buckets past the window (``count`` and on) hold what happened after it: a window that
        # ended earlier, or items that came and went while these reads ran.
        last = max([count, *(key[0] + 1 for key in (*queued, *outcomes)), *(i + 1 for i in reopened)])
        entered = [n + reopened[i] for i, n in enumerate(_per_bucket(queued, last))]
        left = _per_bucket(outcomes, last, *_LEFT)
        level, backlog = int(open_now), [0] * last
        for i in reversed(range(last)):
            # An item that changed between two of these reads can put a level one off; never below 0.
            backlog[i] = max(level, 0)
            level += left[i] - entered[i]
        return Activity(
            starts=tuple(start + width * i for i in range(count)),
            width=width,
            accepted=tuple(_per_bucket(accepted, count)),
            delivered=tuple(_per_bucket(outcomes, count, AttemptOutcome.DELIVERED.value)),
            failed=tuple(_per_bucket(outcomes, count, *_FAILED)),
            backlog=tuple(backlog[:count]),
        )


def _per_bucket(counts: Counter[tuple[Any, ...]], count: int, *outcomes: str) -> list[int]:
    """Rows per bucket; of attempts (counted per bucket and outcome), those with ``outcomes``."""
    keys = [(outcome,) for outcome in outcomes] or [()]
    return [sum(counts[(i, *key)] for key in keys) for i in range(count)]


class _Window:
    def __init__(self, start: datetime, width: timedelta, postgresql: bool) -> None:
        self.start, self.width, self.postgresql = start, width, postgresql

    def bucket(self, column: Any) -> Any:
        """The bucket a time falls in, computed by the database (the time is not before the
        window, so integer division is the floor)."""
        if self.postgresql:
            seconds = cast(func.floor(extract("epoch", column)), BigInteger)
        else:
            seconds = cast(func.strftime("%s", column), BigInteger)
        return (seconds - int(self.start.timestamp())) // int(self.width.total_seconds())

    def counts(
        self, conn: Connection, source: Any, column: Any, where: list[Any], *by: Any
    ) -> Counter[tuple[Any, ...]]:
        """Rows of ``source`` per (bucket, *by) whose ``column`` is in the window or after it."""
        inner = (
            select(self.bucket(column).label("bucket"), *by)
            .select_from(source)
            .where(column >= self.start, *where)
            .subquery()
        )
        # Grouped outside: PostgreSQL cannot tell that a bucket expression in GROUP BY, with
        # parameters of its own, is the one selected.
        keys = list(inner.c)
        rows = conn.execute(select(*keys, func.count()).group_by(*keys))
        return Counter({tuple(row[:-1]): row[-1] for row in rows})

    def reopened(self, conn: Connection, system_id: str | None) -> Counter[int]:
        """Per bucket, the dead letters operators retried (each retry is an evidence record)."""
        e = t.evidence
        rows = conn.execute(select(e).where(e.c.kind == EvidenceKind.OPERATOR.value, e.c.at >= self.start))
        retried = [(r.at, r.data["item_id"]) for r in map(record_of, rows) if r.data.get("action") == "retry"]
        if system_id is not None:
            ids = [item_id for _, item_id in retried]
            theirs: set[int] = set()
            for i in range(0, len(ids), _CHUNK):
                o = t.outbox.c
                chunk = select(o.item_id).where(o.item_id.in_(ids[i : i + _CHUNK]), o.system_id == system_id)
                theirs.update(conn.execute(chunk).scalars())
            retried = [(at, item_id) for at, item_id in retried if item_id in theirs]
        return Counter(int((at - self.start) / self.width) for at, _ in retried)
