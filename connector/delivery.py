"""The outbox worker: push delivery to partner systems, with retries and dead letters.

A worker claims one due item at a time under a lease (so a crashed worker's item comes back),
calls the partner with the item's message id – the same on every attempt, so the partner can
de-duplicate – and records the attempt. Transport errors, timeouts and Server faults retry
with exponential backoff and jitter up to ``max_attempts``; a Client fault dead-letters at once
with the partner's reason. Runs as a thread of the server or as ``python -m connector worker``.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from connector.clock import utcnow
from connector.config import DeliverySettings
from connector.directory import SystemKind
from connector.partners.clients import CallResult, Outcome, PartnerClients
from connector.store import AttemptOutcome, OutboxItem, OutboxOperation, Store, StoredEvent

log = logging.getLogger(__name__)


def backoff(attempt: int, settings: DeliverySettings, rng: random.Random) -> float:
    """Seconds before attempt ``attempt + 1``: base·2^(attempt-1), capped, with full jitter in
    its upper half so that retries from many items do not arrive together."""
    ceiling = min(settings.backoff_max, settings.backoff_base * 2 ** max(attempt - 1, 0))
    return ceiling * (0.5 + rng.random() / 2)


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


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        clients: PartnerClients,
        settings: DeliverySettings,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.clients = clients
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._beat = time.monotonic()  # the loop's last turn (readiness: alive, not stalled)

    def run_once(self) -> OutboxItem | None:
        """Deliver one due item, if any; return it (as claimed) or None when nothing was due."""
        item = self.store.claim_due(self.clock(), self.settings.lease_seconds)
        if item is None:
            return None
        started = time.monotonic()
        result = self._call(item)
        duration_ms = int((time.monotonic() - started) * 1000)
        self._record(item, result, duration_ms)
        return item

    def _call(self, item: OutboxItem) -> CallResult:
        system = self.store.system(item.system_id)
        if system is None or not system.endpoint:
            return CallResult(Outcome.RETRY, error=f"system {item.system_id!r} has no endpoint in the directory")
        package = self.store.package_bytes(item.package_digest) if item.package_digest else None
        try:
            arguments = delivery_arguments(item, package)
        except (KeyError, ValueError) as exc:
            return CallResult(Outcome.REJECTED, error=f"outbox item cannot be turned into a call: {exc}")
        return self.clients.call(SystemKind(system.kind), system.endpoint, item.operation, arguments)

    def _record(self, item: OutboxItem, result: CallResult, duration_ms: int) -> None:
        # Imported here: prometheus-client is for the processes that deliver, not every command line.
        from connector.metrics import record_attempt

        now = self.clock()
        attempt = item.attempts + 1
        exchange = self.store.exchange(item.exchange_id)
        state = exchange.state if exchange else None
        if result.outcome is Outcome.DELIVERED:
            self.store.finish_attempt(
                item.item_id, AttemptOutcome.DELIVERED, now, partner_reference=result.reference, duration_ms=duration_ms
            )
            record_attempt(item.system_id, AttemptOutcome.DELIVERED)
            note = f"{item.operation} delivered to {item.system_id} (reference {result.reference}, attempt {attempt})"
            log.info("outbox %s: %s", item.item_id, note)
        elif result.outcome is Outcome.REJECTED or attempt >= self.settings.max_attempts:
            self.store.finish_attempt(
                item.item_id, AttemptOutcome.DEAD, now, error=result.error, duration_ms=duration_ms
            )
            record_attempt(item.system_id, AttemptOutcome.DEAD)
            why = "rejected" if result.outcome is Outcome.REJECTED else f"gave up after {attempt} attempts"
            note = f"{item.operation} to {item.system_id} dead-lettered ({why}): {result.error}"
            log.warning("outbox %s: %s", item.item_id, note)
        else:
            delay = backoff(attempt, self.settings, self.rng)
            self.store.finish_attempt(
                item.item_id,
                AttemptOutcome.RETRY,
                now,
                error=result.error,
                next_attempt_at=now + timedelta(seconds=delay),
                duration_ms=duration_ms,
            )
            record_attempt(item.system_id, AttemptOutcome.RETRY)
            log.info("outbox %s: attempt %s failed (%s); retry in %.1fs", item.item_id, attempt, result.error, delay)
            return
        if state is not None:
            self.store.add_transport_event(
                item.exchange_id, StoredEvent(now, state, "connector", None, item.package_digest, note)
            )

    def run(self) -> None:
        while not self._stop.is_set():
            self._beat = time.monotonic()
            try:
                busy = self.run_once() is not None
            except Exception:  # the worker must outlive a bad item or a store hiccup
                log.exception("delivery worker error")
                busy = False
            if not busy:
                self._stop.wait(self.settings.poll_interval)

    def start(self) -> DeliveryWorker:
        self._thread = threading.Thread(target=self.run, name="delivery-worker", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def alive(self, stalled_after: float) -> bool:
        """The thread runs and its loop turned within ``stalled_after`` seconds."""
        return self.running and time.monotonic() - self._beat < stalled_after

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.read_timeout + 5)
