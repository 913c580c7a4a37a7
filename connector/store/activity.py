"""Activity over time, for the console's charts: per bucket of a window, what was accepted,
delivered and failed, and how many items were waiting at each bucket's end.

Each count is one grouped query over index ranges of its time column (migrations 0011 and 0012), one range
per bucket: the database hands back a few dozen counts, however many rows the window holds.

The backlog is not stored over time; it is derived backwards from the items open now. An item
enters the backlog when it is queued (``outbox.created_at``) or when an operator retries it
after it died (the evidence log's ``retry`` records: the only way back from ``dead``), and
leaves it with a delivered or dead attempt (``attempts``). So the level at the end of a bucket is
the level at the end of the next one, minus what entered during that next one, plus what left;
everything from the window's start on is counted, so the window may end before now.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, DateTime, Integer, and_, func, literal, select, union_all

from connector.store import tables as t
from connector.store.evidence import record_of
from connector.store.gateway import Gateway
from connector.store.records import OPEN_STATES, Activity, AttemptOutcome, EvidenceKind

_OPEN = [s.value for s in OPEN_STATES]
_FAILED = {AttemptOutcome.RETRY.value, AttemptOutcome.DEAD.value}
_LEFT = {AttemptOutcome.DELIVERED.value, AttemptOutcome.DEAD.value}
_CHUNK = 500  # item ids per IN (...): well under SQLite's limit on parameters
_FOREVER = datetime(9999, 1, 1, tzinfo=UTC)  # the end of the bucket "after the window"


class ActivityGateway(Gateway):
    def activity(self, start: datetime, width: timedelta, count: int, system_id: str | None = None) -> Activity:
        """``count`` buckets of ``width`` from ``start`` (the last should hold now), for every
        partner or for ``system_id`` alone (then "accepted" is the items queued for it)."""
        window = _Window(start, width, count)
        o, a = t.outbox, t.attempts
        mine = [o.c.system_id == system_id] if system_id is not None else []
        # In the counts, the partner is compared as an expression that no index can serve, so the
        # window's time range drives them: without statistics SQLite would rather walk the
        # partner's whole history by ix_outbox_claim, once per bucket (bench/bench_console.py).
        in_window = [o.c.system_id.concat("") == system_id] if system_id is not None else []
        with self._read() as conn:
            queued = window.counts(conn, o, o.c.created_at, in_window)
            accepted = (
                queued if system_id is not None else window.counts(conn, t.exchanges, t.exchanges.c.created_at, [])
            )
            attempts_of = a.join(o, o.c.item_id == a.c.item_id) if system_id is not None else a
            outcomes = window.counts(conn, attempts_of, a.c.at, in_window, a.c.outcome)
            open_now = conn.execute(select(func.count()).select_from(o).where(o.c.state.in_(_OPEN), *mine)).scalar_one()
            reopened = window.reopened(conn, system_id)
        # One bucket more than shown: what happened after the window (when it ended before now,
        # or while these reads ran), which the backlog's walk back from now passes through first.
        entered = [n + reopened[i] for i, n in enumerate(_per_bucket(queued, count + 1))]
        left = _per_bucket(outcomes, count + 1, *_LEFT)
        level, at_start = int(open_now), [0] * (count + 1)
        for i in reversed(range(count + 1)):
            level += left[i] - entered[i]  # back across bucket i: what left comes back, what entered goes
            # An item that changed between two of these reads can put a level one off; never below 0.
            at_start[i] = max(level, 0)
        return Activity(
            starts=tuple(window.edges[:count]),
            width=width,
            accepted=tuple(_per_bucket(accepted, count)),
            delivered=tuple(_per_bucket(outcomes, count, AttemptOutcome.DELIVERED.value)),
            failed=tuple(_per_bucket(outcomes, count, *_FAILED)),
            backlog=tuple(at_start[1:]),  # a bucket's end is the next one's start
        )


def _per_bucket(counts: Counter[tuple[Any, ...]], count: int, *outcomes: str) -> list[int]:
    """Rows per bucket; of attempts (counted per bucket and outcome), those with ``outcomes``."""
    keys = [(outcome,) for outcome in outcomes] or [()]
    return [sum(counts[(i, *key)] for key in keys) for i in range(count)]


class _Window:
    """The buckets as a small table of (bucket, from, until) that the counted rows are joined
    to: each bucket is an index range of the time column, and the SQL is the same on SQLite and
    PostgreSQL (no date functions, which differ, and which cost a call per row)."""

    def __init__(self, start: datetime, width: timedelta, count: int) -> None:
        self.edges = [start + width * i for i in range(count + 1)] + [_FOREVER]
        stamp = DateTime(timezone=True)
        self.buckets = union_all(
            *(
                select(
                    literal(i, Integer).label("bucket"), literal(lo, stamp).label("lo"), literal(hi, stamp).label("hi")
                )
                for i, (lo, hi) in enumerate(itertools.pairwise(self.edges))
            )
        ).cte("buckets")

    def counts(
        self, conn: Connection, source: Any, column: Any, where: list[Any], *by: Any
    ) -> Counter[tuple[Any, ...]]:
        """Rows of ``source`` per (bucket, *by) whose ``column`` is in the window or after it."""
        b = self.buckets.c
        joined = self.buckets.join(source, and_(column >= b.lo, column < b.hi))
        rows = conn.execute(
            select(b.bucket, *by, func.count()).select_from(joined).where(*where).group_by(b.bucket, *by)
        )
        return Counter({tuple(row[:-1]): row[-1] for row in rows})

    def reopened(self, conn: Connection, system_id: str | None) -> Counter[int]:
        """Per bucket, the dead letters operators retried (each retry is an evidence record)."""
        e = t.evidence
        rows = conn.execute(select(e).where(e.c.kind == EvidenceKind.OPERATOR.value, e.c.at >= self.edges[0]))
        retried = [(r.at, r.data["item_id"]) for r in map(record_of, rows) if r.data.get("action") == "retry"]
        if system_id is not None:
            ids = [item_id for _, item_id in retried]
            theirs: set[int] = set()
            for i in range(0, len(ids), _CHUNK):
                o = t.outbox.c
                chunk = select(o.item_id).where(o.item_id.in_(ids[i : i + _CHUNK]), o.system_id == system_id)
                theirs.update(conn.execute(chunk).scalars())
            retried = [(at, item_id) for at, item_id in retried if item_id in theirs]
        return Counter(bisect.bisect_right(self.edges, at) - 1 for at, _ in retried)
