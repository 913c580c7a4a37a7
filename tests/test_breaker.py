"""The circuit breaker and the retry schedule on their own (the outage test drives both through
the live simulators: tests/partners/test_outage.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from connector.config import PartnerPolicy
from connector.delivery.breaker import CircuitBreaker, Permit
from connector.delivery.retry import past_horizon, retry_delay
from connector.store import BreakerState

T0 = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_breaker_opens_after_consecutive_failures_and_probes_once_per_interval():
    breaker = CircuitBreaker(threshold=3, probe_interval=30)
    assert [breaker.record(at(0), False, Permit.CALL) for _ in range(2)] == [None, None]
    assert breaker.record(at(1), True, Permit.CALL) is None  # an answer resets the count
    assert [breaker.record(at(2), False, Permit.CALL) for _ in range(3)] == [None, None, BreakerState.OPEN]
    assert (breaker.state, breaker.since) == (BreakerState.OPEN, at(2))
    assert breaker.permit(at(10)) is None  # no calls while open
    assert breaker.permit(at(32)) is Permit.PROBE
    assert breaker.permit(at(33)) is None  # one probe at a time
    assert breaker.record(at(33), False, Permit.PROBE) is None  # still down
    assert breaker.permit(at(50)) is None and breaker.permit(at(63)) is Permit.PROBE
    breaker.unused(Permit.PROBE)  # nothing was due: the probe is not spent
    assert breaker.permit(at(64)) is Permit.PROBE
    assert breaker.record(at(64), True, Permit.PROBE) is BreakerState.CLOSED  # a Client fault is an answer too
    assert breaker.permit(at(64)) is Permit.CALL and breaker.since == at(64)


def test_a_restarted_worker_keeps_an_open_breaker_and_probes_at_once():
    breaker = CircuitBreaker(threshold=3, probe_interval=30, state=BreakerState.OPEN, since=at(0))
    assert breaker.permit(at(1)) is Permit.PROBE


def test_the_schedule_backs_off_to_the_ceiling_then_retries_steadily_until_the_horizon():
    policy = PartnerPolicy(backoff_base=1, backoff_max=600, retry_horizon=48 * 3600)
    rng = random.Random(1)
    nominal = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
    for attempt, expected in enumerate(nominal, start=1):
        assert expected / 2 <= retry_delay(attempt, policy, rng) <= expected
    assert 300 <= retry_delay(10_000, policy, rng) <= 600  # no overflow after days of retries
    waited, attempt = 0.0, 0
    while not past_horizon(T0, at(waited), policy):
        attempt += 1
        waited += retry_delay(attempt, policy, rng)
    assert 48 * 3600 <= waited < 48 * 3600 + 600 and attempt > 48 * 6  # about every 10 min for 48 h
