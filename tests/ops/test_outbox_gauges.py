"""The outbox figures of ``Store.outbox_stats`` as ``/metrics`` shows them, with a paused partner
and an open circuit breaker, and the breaker's transition counter."""

from __future__ import annotations

from connector.clock import utcnow
from connector.ops import metrics
from connector.store import BreakerState, OutboxState, OutboxStats


def test_paused_and_open_breaker_gauges_and_transitions():
    now = utcnow()
    stats = [
        OutboxStats("eoffice-stp", OutboxState.PENDING, 12, now, now, 0, paused=True, breaker=BreakerState.OPEN),
        OutboxStats("igate-hungyen", OutboxState.PENDING, 3, now, now, 2),
    ]
    metrics.record_breaker("eoffice-stp", BreakerState.OPEN)
    text = metrics.render(metrics.StateCollector(stats, [], now, 30)).decode()
    assert 'connector_outbox_paused{system_id="eoffice-stp"} 1.0' in text
    assert 'connector_breaker_open{system_id="eoffice-stp"} 1.0' in text
    assert 'connector_breaker_open{system_id="igate-hungyen"} 0.0' in text
    assert 'connector_outbox_items{state="pending",system_id="eoffice-stp"} 12.0' in text
    assert 'connector_breaker_transitions_total{state="open",system_id="eoffice-stp"}' in text
