"""The outbox worker: push delivery to partner systems, one lane per partner.

Each push partner gets a ``PartnerLane``: up to ``concurrency`` threads that claim that partner's
due items under a lease (so a crashed worker's item comes back), call the partner with the
item's message id – the same on every attempt, so the partner can de-duplicate – and record the
attempt. A slow partner only ever occupies its own lane's threads. Transport errors, timeouts
and Server faults retry on the schedule of ``connector/delivery/retry.py`` until the partner's horizon; a
Client fault dead-letters at once with the partner's reason. A circuit breaker per partner
(``connector/delivery/breaker.py``) stops the calls while the partner is down and sends one probe per
interval; its transitions are logged, counted and noted in the affected exchanges' timelines.
Runs as threads of the server or as ``python -m connector worker``.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from connector.clock import utcnow
from connector.config import DeliverySettings, PartnerPolicy
from connector.delivery.breaker import CircuitBreaker, Permit
from connector.delivery.clients import CallResult, Failure, Outcome, PartnerClients
from connector.delivery.outage import OutagePolicy, StoreOutage
from connector.delivery.protocols import PartnerProtocols
from connector.delivery.retry import past_horizon, retry_delay
from connector.delivery.wake import Wakeup
from connector.errors import StoreUnavailableError
from connector.store import AttemptOutcome, BreakerState, OutboxItem, OutboxOperation, Store, StoredEvent

log = logging.getLogger(__name__)


def delivery_arguments(item: OutboxItem, package: bytes | None) -> dict[str, Any]:
    """The partner call's ``delivery`` argument, from the outbox payload."""
    p = json.loads(item.payload)
    common = {"messageId": item.message_id, "exchangeId": p["exchange_id"], "package": package or b""}
    if item.operation is OutboxOperation.DELIVER_DOCUMENT:
        d = p["dossier"]
        return common | {
            "kind": p["kind"],
            "queue": p["queue"],
            "targetAccount": p["target_account"],
            "officerAccount": p["officer_account"],
            "documentId": p["document_id"],
            "code": p["code"] or None,
            "subject": p["subject"],
            "dossierCode": d["dossier_code"],
            "onestopNumber": d["onestop_number"],
            "procedureCode": d["procedure_code"],
            "procedureName": d["procedure_name"],
            "officerOpinion": d["officer_opinion"],
        }
    if item.operation is OutboxOperation.DELIVER_RESULT:
        return common | {
            "onestopNumber": p["onestop_number"],
            "dossierCode": p["dossier_code"],
            "documentId": p["document_id"],
            "numberSymbol": p["number_symbol"],
            "issueDate": p["issue_date"],
            "signerName": p["signer_name"],
            "signerPosition": p["signer_position"],
            "documentIdentifier": p["document_identifier"],
        }
    if item.operation is OutboxOperation.DELIVER_STATUS:
        return common | {
            "documentId": p["document_id"],
            "dossierCode": p["dossier_code"],
            "onestopNumber": p["onestop_number"],
            "statusCode": p["status_code"],
            "description": p["description"],
            "at": p["at"],
        }
    raise ValueError(f"unknown outbox operation {item.operation!r}")


def waiting_note(system_id: str, since: datetime, error: str | None) -> str:
    return f"waiting for partner {system_id} since {since:%Y-%m-%d %H:%M:%S} UTC ({error or 'no answer'})"


class PartnerLane:
    """One partner's queue: its policy, its breaker, and the delivery of its items."""

    def __init__(self, worker: DeliveryWorker, system_id: str, policy: PartnerPolicy) -> None:
        self.worker = worker
        self.system_id = system_id
        self.policy = policy
        persisted = worker.store.partner_queue(system_id)  # a restarted worker keeps an open breaker open
        self.breaker = CircuitBreaker(
            policy.breaker_threshold, policy.probe_interval, persisted.breaker, persisted.breaker_since
        )
        self._noted_up_to = 0  # the last item whose exchange was told "waiting for partner"
        self._last_error = persisted.last_error
        self.held_until: datetime | None = None  # a gateway's 429: the lane waits until then
        self._next_due: datetime | None = None  # the earliest retry this process scheduled here

    def run_once(self) -> OutboxItem | None:
        """Deliver one due item of this partner, if the breaker and the queue allow it."""
        w = self.worker
        if self.held_until is not None and w.clock() < self.held_until:
            return None
        permit = self.breaker.permit(w.clock())
        if permit is None:
            return None
        try:
            item = w.store.claim_due(self.system_id, w.clock(), w.settings.lease_seconds, w.node_id)
            w.claimed()
            if item is None:
                return None
            started = time.monotonic()
            try:
                result = w.call(item)
            except StoreUnavailableError:
                raise  # nothing to record it in: the item comes back when its lease ends
            except Exception as exc:  # our own bug still ends as an attempt, retried on the schedule
                log.exception("outbox %s: the call to %s failed unexpectedly", item.item_id, self.system_id)
                result = CallResult(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}", failure=Failure.INTERNAL)
            duration_ms = int((time.monotonic() - started) * 1000)
            self._record(item, result, duration_ms, permit)
            return item
        finally:
            self.breaker.unused(permit)  # a probe that found nothing (or failed in the store) is given back

    def _record(self, item: OutboxItem, result: CallResult, duration_ms: int, permit: Permit) -> None:
        # Imported here: prometheus-client is for the processes that deliver, not every command line.
        from connector.ops.metrics import record_attempt

        store, now = self.worker.store, self.worker.clock()
        attempt = item.attempts + 1
        error = result.recorded_error  # the failure's kind, message and HTTP evidence
        if result.failure is not None and result.outcome is not Outcome.DELIVERED:
            self.worker.count_failure(item.system_id, result.failure)
        if result.outcome is Outcome.DELIVERED:
            store.finish_attempt(
                item.item_id, AttemptOutcome.DELIVERED, now, partner_reference=result.reference, duration_ms=duration_ms
            )
            record_attempt(item.system_id, AttemptOutcome.DELIVERED)
            note = f"{item.operation} delivered to {item.system_id} (reference {result.reference}, attempt {attempt})"
            log.info("outbox %s: %s", item.item_id, note)
        elif result.outcome is Outcome.REJECTED or (
            result.outcome is not Outcome.UNAUTHORIZED and past_horizon(item.created_at, now, self.policy)
        ):
            store.finish_attempt(item.item_id, AttemptOutcome.DEAD, now, error=error, duration_ms=duration_ms)
            record_attempt(item.system_id, AttemptOutcome.DEAD)
            why = (
                "rejected"
                if result.outcome is Outcome.REJECTED
                else f"gave up after {attempt} attempts over {(now - item.created_at) / timedelta(hours=1):.1f} h"
            )
            note = f"{item.operation} to {item.system_id} dead-lettered ({why}): {error}"
            log.warning("outbox %s: %s", item.item_id, note)
        else:
            delay = retry_delay(attempt, self.policy, self.worker.rng)
            if result.outcome is Outcome.THROTTLED:  # the gateway said when; the whole lane waits
                delay = max(result.retry_after or 0.0, 0.0)
                self.held_until = now + timedelta(seconds=delay)
            elif result.outcome is Outcome.UNAUTHORIZED:  # until an operator fixes the credentials
                delay = max(delay, self.policy.probe_interval)
            store.finish_attempt(
                item.item_id,
                AttemptOutcome.RETRY,
                now,
                error=error,
                next_attempt_at=now + timedelta(seconds=delay),
                duration_ms=duration_ms,
            )
            record_attempt(item.system_id, AttemptOutcome.RETRY)
            log.info("outbox %s: attempt %s failed (%s); retry in %.1fs", item.item_id, attempt, error, delay)
            due = now + timedelta(seconds=delay)
            self._next_due = due if self._next_due is None else min(self._next_due, due)
            note = None
        if note is not None:
            exchange = store.exchange(item.exchange_id)
            if exchange is not None:
                store.add_transport_event(
                    item.exchange_id, StoredEvent(now, exchange.state, "connector", None, item.package_digest, note)
                )
        self._breaker(now, result, permit)

    def _breaker(self, now: datetime, result: CallResult, permit: Permit) -> None:
        from connector.ops.metrics import record_breaker

        answered = result.answered  # a delivery, a Client fault or a gateway's quota: the partner is up
        if not answered:
            self._last_error = result.recorded_error
        if result.outcome is Outcome.UNAUTHORIZED:  # wrong credentials: open now, probe each interval
            changed = self.breaker.trip(now, permit)
        else:
            changed = self.breaker.record(now, answered, permit)
        store = self.worker.store
        if changed is BreakerState.OPEN:
            why = (
                "its gateway refuses the connector's credentials"
                if result.outcome is Outcome.UNAUTHORIZED
                else f"after {self.policy.breaker_threshold} failed calls"
            )
            log.warning(
                "partner %s: breaker open %s (%s); one probe every %gs",
                self.system_id,
                why,
                result.recorded_error,
                self.policy.probe_interval,
            )
            store.set_breaker(self.system_id, BreakerState.OPEN, now, result.recorded_error)
            self._noted_up_to = 0
        elif changed is BreakerState.CLOSED:
            log.warning("partner %s: answers again; breaker closed, its queue is due now", self.system_id)
            store.set_breaker(self.system_id, BreakerState.CLOSED, now)
        if changed is not None:
            self.worker.transitions[(self.system_id, changed)] += 1
            record_breaker(self.system_id, changed)
        if self.breaker.state is BreakerState.OPEN and not answered:
            # Every exchange waiting for the partner says so, including those queued since the last probe.
            since = self.breaker.since or now
            self._noted_up_to = store.note_waiting(
                self.system_id, waiting_note(self.system_id, since, self._last_error), now, self._noted_up_to
            )

    def loop(self, stop: threading.Event) -> None:
        """One of the lane's threads: deliver while there is work; when there is none, sleep until
        woken (new work: ``wake.py``), the next retry or probe it knows of, or the poll interval.
        While the store is unavailable it backs off quietly (``outage.py``)."""
        w = self.worker
        while not stop.is_set():
            w.beat()
            seen = w.wakeup.generation(self.system_id)
            try:
                if self.run_once() is not None:
                    continue
                w.wakeup.wait(self.system_id, seen, self._idle_wait())
            except StoreUnavailableError as exc:
                stop.wait(w.outage.failed(exc))
            except Exception:  # the lane must outlive a bad item; a bug is logged, not repeated fast
                log.exception("delivery to %s failed", self.system_id)
                stop.wait(w.settings.poll_interval)

    def _idle_wait(self) -> float:
        """Seconds until this lane has reason to look again without being woken."""
        now = self.worker.clock()
        wait = self.worker.settings.poll_interval
        for due in (self._next_due, self.breaker.next_probe):
            if due is not None:
                wait = min(wait, (due - now).total_seconds())
        if self._next_due is not None and self._next_due <= now:
            self._next_due = None
        return max(wait, 0.05)


class DeliveryWorker:
    """Delivers every push partner's queue: ``run_once`` one item at a time (tests), or ``start``
    one lane of threads per partner (the server, ``python -m connector worker``)."""

    def __init__(
        self,
        store: Store,
        clients: PartnerClients,
        settings: DeliverySettings,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        protocols: PartnerProtocols | None = None,
        node_id: str | None = None,
    ) -> None:
        """``protocols``: how each partner is called (a gateway's OAuth2, the national axis);
        by default SOAP with each partner's static headers and no secrets."""
        self.store = store
        self.clients = clients
        self.protocols = protocols or PartnerProtocols(clients)
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self.lanes: dict[str, PartnerLane] = {}
        self.transitions: Counter[tuple[str, BreakerState]] = Counter()  # breaker transitions, for metrics
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._beats: dict[str, float] = {}  # thread name -> its loop's last turn
        self._supervisor: threading.Thread | None = None
        self.node_id = node_id
        """Written on the leases this worker takes; its next incarnation reclaims them (``start``)."""
        self.wakeup = Wakeup()
        self.outage = StoreOutage(
            OutagePolicy(0.5, settings.outage_max_backoff, settings.outage_summary_interval),
            on_change=_record_outage,
        )

    def lane(self, system_id: str) -> PartnerLane:
        if system_id not in self.lanes:
            self.lanes[system_id] = PartnerLane(self, system_id, self.settings.policy(system_id))
        return self.lanes[system_id]

    def run_once(self) -> OutboxItem | None:
        """Deliver one due item of any partner, if any; return it (as claimed) or None when
        nothing was due. Tests drive the worker with this, one item at a time."""
        for system_id in self.store.push_systems():
            item = self.lane(system_id).run_once()
            if item is not None:
                return item
        return None

    def claimed(self) -> None:
        """A claim reached the store: counted (an idle worker should make few) and ends an outage."""
        from connector.ops.metrics import record_claim

        record_claim()
        self.outage.succeeded()

    def count_failure(self, system_id: str, failure: Failure) -> None:
        from connector.ops.metrics import record_failure

        record_failure(system_id, failure.value)

    def call(self, item: OutboxItem) -> CallResult:
        system = self.store.system(item.system_id)
        if system is None or not system.endpoint:
            return CallResult(
                Outcome.RETRY,
                error=f"system {item.system_id!r} has no endpoint in the directory",
                failure=Failure.TRANSPORT,
            )
        package = self.store.package_bytes(item.package_digest) if item.package_digest else None
        try:
            arguments = delivery_arguments(item, package)
        except (KeyError, ValueError) as exc:
            return CallResult(
                Outcome.REJECTED, error=f"outbox item cannot be turned into a call: {exc}", failure=Failure.CONTRACT
            )
        return self.protocols.call(system, item.operation, arguments, package)

    def run(self) -> None:
        """Serve every push partner with its own threads until ``stop()``; partners added to the
        directory get theirs within a few polls."""
        while not self._stop.is_set():
            self.beat()
            try:
                for system_id in self.store.push_systems():
                    if system_id not in self.lanes:
                        self._start_lane(self.lane(system_id))
            except StoreUnavailableError as exc:  # the lanes' outage: logged once, not per poll
                self._stop.wait(self.outage.failed(exc))
                continue
            except Exception:  # a bug: logged, and tried again at the next poll
                log.exception("delivery worker: cannot read the directory")
            self._stop.wait(max(self.settings.poll_interval, 1.0))

    def _start_lane(self, lane: PartnerLane) -> None:
        for n in range(lane.policy.concurrency):
            thread = threading.Thread(
                target=lane.loop, args=(self._stop,), name=f"deliver-{lane.system_id}-{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        log.info("delivering to %s with %s threads", lane.system_id, lane.policy.concurrency)

    def start(self) -> DeliveryWorker:
        """``prepare``, then serve every partner in threads of their own."""
        self.prepare()
        self._supervisor = threading.Thread(target=self.run, name="delivery-worker", daemon=True)
        self._supervisor.start()
        return self

    def prepare(self) -> None:
        """Reclaim this node's leases from a previous incarnation; listen for new work."""
        if self.node_id is not None:
            try:
                reclaimed = self.store.reclaim_leases(self.node_id, self.clock())
            except StoreUnavailableError as exc:  # they come back when their leases end
                log.warning("delivery worker %s: cannot reclaim its leases (%s)", self.node_id, exc.detail)
            else:
                if reclaimed:
                    log.warning(
                        "delivery worker %s: reclaimed %s items its previous run had in flight", self.node_id, reclaimed
                    )
        self.store.on_outbox(self.wakeup.notify)
        if self.store.engine.dialect.name == "postgresql":
            listener = threading.Thread(
                target=self.store.listen_outbox,
                args=(self.wakeup.notify, self._stop),
                name="outbox-listen",
                daemon=True,
            )
            listener.start()

    def beat(self) -> None:
        """The calling thread's loop turned (readiness: alive, not stalled)."""
        self._beats[threading.current_thread().name] = time.monotonic()

    @property
    def running(self) -> bool:
        return self._supervisor is not None and self._supervisor.is_alive()

    def alive(self, stalled_after: float) -> bool:
        """The threads run and each one's loop turned within ``stalled_after`` seconds (a call to
        a partner takes at most its connect and read timeouts)."""
        now = time.monotonic()
        threads = [t for t in (self._supervisor, *self._threads) if t is not None]
        return self.running and all(
            t.is_alive() and now - self._beats.get(t.name, now) < stalled_after for t in threads
        )

    def stop(self, wait: float | None = None) -> None:
        """Stop the threads, waiting up to ``wait`` seconds (default: a partner call's read
        timeout). A thread still in a partner call after that is abandoned (the threads are
        daemons): its item's lease brings it back, at once when this node restarts."""
        self._stop.set()
        self.wakeup.notify()
        deadline = time.monotonic() + (self.settings.read_timeout + 5 if wait is None else wait)
        for thread in [t for t in (self._supervisor, *self._threads) if t is not None]:
            thread.join(timeout=max(deadline - time.monotonic(), 0.01))


def _record_outage(started: bool | None) -> None:
    from connector.ops.metrics import record_store_outage

    record_store_outage(started)
