"""Prometheus metrics (``GET /metrics``, text format).

Two kinds:
- **Events** (requests, stage latencies, delivery attempts, signature and authentication
  failures) are counted where they happen, in process-wide metrics: a metric is a property of the
  process, as its log is. With several processes on one host (a server plus ``python -m connector
  worker`` processes, or several servers), set ``PROMETHEUS_MULTIPROC_DIR`` to one empty directory
  for all of them before they start: prometheus-client then keeps each process's values in files
  there and any server's ``/metrics`` adds them all up (multiprocess mode).
- **State** (outbox depth and age per partner, certificate expiry) is read from the store and the
  loaded keys at scrape time, so it is the same whichever process answers and is never counted
  twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from connector.exchange.pipeline import StageTimings
from connector.ops.certificates import CertificateStatus
from connector.store import OPEN_STATES, BreakerState, OutboxStats

CONTENT_TYPE = CONTENT_TYPE_LATEST

EVENTS = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "connector_requests",
    "SOAP requests by operation and fault code ('none': answered)",
    ["operation", "fault"],
    registry=EVENTS,
)
REQUEST_SECONDS = Histogram("connector_request_seconds", "SOAP request duration", ["operation"], registry=EVENTS)
STAGE_SECONDS = Histogram(
    "connector_stage_seconds",
    "Time per pipeline stage (verify, validate, route, persist)",
    ["operation", "stage"],
    registry=EVENTS,
)
SIGNATURE_FAILURES = Counter(
    "connector_signature_failures", "Packages refused by signature verification, by reason", ["reason"], registry=EVENTS
)
AUTH_FAILURES = Counter(
    "connector_authentication_failures",
    "Requests refused by caller authentication, by reason",
    ["reason"],
    registry=EVENTS,
)
DELIVERY_ATTEMPTS = Counter(
    "connector_delivery_attempts",
    "Push delivery attempts by partner and outcome (delivered, retry, dead)",
    ["system_id", "outcome"],
    registry=EVENTS,
)
DELIVERIES = Counter(
    "connector_deliveries",
    "Outbox items finished, by partner and outcome (delivered, dead)",
    ["system_id", "outcome"],
    registry=EVENTS,
)
BREAKER_TRANSITIONS = Counter(
    "connector_breaker_transitions",
    "A partner's circuit breaker opening (partner down) or closing (it answers again)",
    ["system_id", "state"],
    registry=EVENTS,
)
PARTNER_TOKEN_FETCHES = Counter(
    "connector_partner_token_fetches",
    "OAuth2 tokens fetched from a partner's gateway, by partner and outcome (ok, failed)",
    ["system_id", "outcome"],
    registry=EVENTS,
)
PARTNER_GATEWAY_REFUSALS = Counter(
    "connector_partner_gateway_refusals",
    "A partner's gateway answering for itself, by partner and HTTP status (401, 403, 429)",
    ["system_id", "status"],
    registry=EVENTS,
)


def record_token_fetch(system_id: str, ok: bool) -> None:
    PARTNER_TOKEN_FETCHES.labels(system_id, "ok" if ok else "failed").inc()


def record_gateway_refusal(system_id: str, status: int) -> None:
    PARTNER_GATEWAY_REFUSALS.labels(system_id, str(status)).inc()


DELIVERY_FAILURES = Counter(
    "connector_delivery_failures",
    "Failed push attempts by partner and kind (timeout, transport, http, server-fault, client-fault, protocol, ...)",
    ["system_id", "failure"],
    registry=EVENTS,
)
CLAIMS = Counter(
    "connector_outbox_claims",
    "Claim transactions of the delivery worker (an idle worker should make few)",
    registry=EVENTS,
)
STORE_OUTAGES = Counter(
    "connector_store_outages", "Outages of the store seen by the delivery worker (each counted once)", registry=EVENTS
)
STORE_FAILED_POLLS = Counter(
    "connector_store_failed_polls",
    "Delivery worker polls that found the store unavailable",
    registry=EVENTS,
)
STORE_UNAVAILABLE = Gauge(
    "connector_store_unavailable",
    "1 while this process's delivery worker finds the store unavailable",
    registry=EVENTS,
    multiprocess_mode="max",
)


def record_request(operation: str, fault: str | None, seconds: float, timings: StageTimings) -> None:
    REQUESTS.labels(operation, fault or "none").inc()
    REQUEST_SECONDS.labels(operation).observe(seconds)
    for stage, spent in timings.seconds.items():
        STAGE_SECONDS.labels(operation, stage).observe(spent)
    if timings.signature_failure:
        SIGNATURE_FAILURES.labels(timings.signature_failure).inc()


def record_authentication_failure(reason: str) -> None:
    """For the authentication layer: one refused caller. ``reason`` is a fixed code
    (``connector.auth.authenticator.FailureKind``), never the caller's input."""
    AUTH_FAILURES.labels(reason).inc()


def record_breaker(system_id: str, state: str) -> None:
    """A partner's circuit breaker changed: ``open`` (partner down) or ``closed`` (answers again)."""
    BREAKER_TRANSITIONS.labels(system_id, state).inc()


def record_attempt(system_id: str, outcome: str) -> None:
    """One push attempt: ``delivered``, ``retry`` or ``dead`` (the last attempt of a dead letter)."""
    DELIVERY_ATTEMPTS.labels(system_id, outcome).inc()
    if outcome != "retry":
        DELIVERIES.labels(system_id, outcome).inc()


def record_failure(system_id: str, failure: str) -> None:
    """A failed push attempt, by its kind (``connector.delivery.classify.Failure``)."""
    DELIVERY_FAILURES.labels(system_id, failure).inc()


def record_claim() -> None:
    CLAIMS.inc()


def record_store_outage(started: bool | None) -> None:
    """``True``: an outage begins; ``None``: a poll failed during it; ``False``: it ended."""
    if started is None:
        STORE_FAILED_POLLS.inc()
        return
    if started:
        STORE_OUTAGES.inc()
        STORE_FAILED_POLLS.inc()
    STORE_UNAVAILABLE.set(1 if started else 0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class _Events(Collector):
    def collect(self) -> Iterable[Metric]:
        return EVENTS.collect()


class StateCollector(Collector):
    """Outbox, certificate and evidence gauges, computed when scraped."""

    def __init__(
        self,
        stats: list[OutboxStats],
        certs: list[CertificateStatus],
        now: datetime,
        warning_days: int,
        unstamped_heads: int | None = None,
    ) -> None:
        self.stats, self.certs, self.now, self.warning_days = stats, certs, now, warning_days
        self.unstamped_heads = unstamped_heads

    def collect(self) -> Iterator[Metric]:
        items = GaugeMetricFamily(
            "connector_outbox_items", "Outbox items by partner and state", labels=["system_id", "state"]
        )
        in_flight = GaugeMetricFamily(
            "connector_outbox_in_flight", "Items a worker holds right now", labels=["system_id"]
        )
        oldest = GaugeMetricFamily(
            "connector_outbox_oldest_age_seconds",
            "Age of the oldest undelivered item per partner",
            labels=["system_id"],
        )
        paused = GaugeMetricFamily(
            "connector_outbox_paused", "1 while an operator has paused the partner", labels=["system_id"]
        )
        breaker = GaugeMetricFamily(
            "connector_breaker_open", "1 while the partner's circuit breaker is open", labels=["system_id"]
        )
        ages: dict[str, float] = {}
        leased: dict[str, int] = {}
        queues: dict[str, OutboxStats] = {}
        for s in self.stats:
            items.add_metric([s.system_id, s.state], s.count)
            leased[s.system_id] = leased.get(s.system_id, 0) + s.in_flight
            queues[s.system_id] = s
            if s.state in OPEN_STATES:
                age = max((self.now - s.oldest_created_at).total_seconds(), 0.0)
                ages[s.system_id] = max(ages.get(s.system_id, 0.0), age)
        for system_id, count in leased.items():
            in_flight.add_metric([system_id], count)
        for system_id, age in ages.items():
            oldest.add_metric([system_id], age)
        for system_id, s in queues.items():
            paused.add_metric([system_id], int(s.paused))
            breaker.add_metric([system_id], int(s.breaker is BreakerState.OPEN))
        yield from (items, in_flight, oldest, paused, breaker)
        days = GaugeMetricFamily(
            "connector_certificate_expiry_days",
            "Days until a certificate expires (negative: expired)",
            labels=["role", "subject", "sha256"],
        )
        expiring = GaugeMetricFamily(
            "connector_certificates_expiring",
            f"Certificates expired or expiring within the warning window ({self.warning_days} days)",
        )
        for c in self.certs:
            days.add_metric([c.role, c.subject, c.sha256], round(c.days_left(self.now), 2))
        expiring.add_metric([], sum(1 for c in self.certs if c.days_left(self.now) <= self.warning_days))
        yield from (days, expiring)
        if self.unstamped_heads is not None:
            unstamped = GaugeMetricFamily(
                "connector_evidence_unstamped_heads",
                "Signed heads kept without a time-stamp because the time-stamping authority failed",
            )
            unstamped.add_metric([], self.unstamped_heads)
            yield unstamped


def render(state: StateCollector) -> bytes:
    """The exposition for one scrape: the state gauges, then the events of this process or, in
    multiprocess mode, of every process sharing the directory."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(state)
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        registry.register(_Events())
    return generate_latest(registry)
