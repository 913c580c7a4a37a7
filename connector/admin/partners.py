"""The partners pages: one row per partner system, built from what the store already keeps per
partner (``outbox_stats``, ``partner_queues``, the attempts log) and the directory's systems;
the activity charts above them (``Store.activity``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from markupsafe import Markup

from connector.admin.charts import DEFAULT_WINDOW, WINDOWS, Series, Window, activity_series, chart
from connector.admin.words import Clock, ErrorWords, error_words
from connector.exchange.directory import Protocol
from connector.store import BreakerState, OutboxState, Store


@dataclass(frozen=True)
class PartnerRow:
    system_id: str
    organ_id: str
    mode: str
    """push, pull, or axis (the national document axis, pushed over VXP)."""
    backlog: int
    """Items still to reach the partner: pending, plus fetched-but-unacknowledged for pull."""
    oldest_waiting: datetime | None
    in_flight: int
    dead: int
    breaker: BreakerState
    breaker_since: datetime | None
    paused: bool
    pause_reason: str | None
    last_success: datetime | None
    last_error_at: datetime | None
    last_error: ErrorWords | None

    @property
    def trouble(self) -> bool:
        """Worth a look first: its breaker is open, it is paused, or it has dead letters."""
        return self.breaker is BreakerState.OPEN or self.paused or self.dead > 0


def partner_row(store: Store, now: datetime, system_id: str) -> PartnerRow | None:
    """One partner's row (its page), or None when neither the directory nor the outbox knows it."""
    return next(iter(partner_rows(store, now, only=system_id)), None)


def partner_rows(store: Store, now: datetime, only: str | None = None) -> list[PartnerRow]:
    """Every partner in the directory, and any system the outbox still names that is not:
    those in trouble first, then by name."""
    systems = {s.system_id: s for s in store.directory().systems}
    stats = store.outbox_stats(now)
    queues = store.partner_queues()
    activity = store.partner_activity()
    names = set(systems) | {s.system_id for s in stats} | set(queues)
    if only is not None:
        names &= {only}
    rows = []
    for name in names:
        mine = [s for s in stats if s.system_id == name]
        open_items = [s for s in mine if s.state in (OutboxState.PENDING, OutboxState.FETCHED)]
        oldest = min((s.oldest_created_at for s in open_items if s.oldest_created_at), default=None)
        queue = queues.get(name)
        last_success, last_error_at, last_error = activity.get(name, (None, None, None))
        if queue is not None and queue.breaker is BreakerState.OPEN and queue.last_error:
            last_error = last_error or queue.last_error  # the failure that opened it, when nothing newer
        system = systems.get(name)
        if system is None:
            mode = "?"
        elif system.protocol is Protocol.VXP:
            mode = "axis"
        else:
            mode = system.mode.value
        rows.append(
            PartnerRow(
                system_id=name,
                organ_id=system.organ_id if system else "",
                mode=mode,
                backlog=sum(s.count for s in open_items),
                oldest_waiting=oldest,
                in_flight=sum(s.in_flight for s in mine),
                dead=sum(s.count for s in mine if s.state is OutboxState.DEAD),
                breaker=queue.breaker if queue else BreakerState.CLOSED,
                breaker_since=queue.breaker_since if queue else None,
                paused=queue.paused if queue else False,
                pause_reason=queue.pause_reason if queue else None,
                last_success=last_success,
                last_error_at=last_error_at,
                last_error=error_words(last_error),
            )
        )
    return sorted(rows, key=lambda r: (not r.trouble, r.system_id))


@dataclass(frozen=True)
class Charts:
    """A page's activity charts: the window shown, its four charts, and links to each window."""

    window: Window
    figures: list[tuple[Series, Markup]]
    links: list[tuple[Window, str]]
    """Each window, and this page showing it (its outbox filter kept)."""


def partner_charts(
    store: Store, clock: Clock, now: datetime, query: Mapping[str, str], path: str, system_id: str | None = None
) -> Charts:
    """Every partner's activity (the partners page) or one partner's (its page), in the window
    ``?window=`` names (24 h by default); the links keep the page's outbox filter."""
    window = WINDOWS.get(query.get("window", ""), DEFAULT_WINDOW)
    activity = store.activity(window.start(now, clock), window.width, window.count, system_id)
    figures = [(s, chart(s, window, clock)) for s in activity_series(activity, per_partner=system_id is not None)]
    kept = [(k, query[k]) for k in ("state",) if query.get(k)]
    links = [(w, f"{path}?{urlencode([*kept, ('window', w.key)])}") for w in WINDOWS.values()]
    return Charts(window, figures, links)
