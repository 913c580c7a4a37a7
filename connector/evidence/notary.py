"""Signing the evidence chain's head: periodically, and on demand (an export, an operator).

A signed head is the connector's statement "at ``signed_at`` the chain ended at record N with
hash H", signed with its identity like a receipt and, when ``tsa_url`` is set, time-stamped by an
RFC 3161 authority (the time-stamp covers the signed head's exact bytes).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from connector.clock import utcnow
from connector.store import SignedHead, Store
from signing import HEAD_PROFILE, Head, SigningIdentity, SigningOptions, request_timestamp, sign_xml

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotarySettings:
    tsa_url: str | None = None
    tsa_timeout: float = 10.0


class HeadNotary:
    """Signs the current chain head with the connector's identity (and a TSA, if configured)."""

    def __init__(self, store: Store, identity: SigningIdentity, settings: NotarySettings) -> None:
        self.store = store
        self.identity = identity
        self.settings = settings
        self._lock = threading.Lock()  # one signature at a time per process

    def sign_head(self) -> SignedHead:
        """A new signed head for the chain as it is now (raises ``TimestampError`` if the TSA fails)."""
        with self._lock:
            seq, record_sha256 = self.store.evidence.head()
            now = utcnow()
            signed = sign_xml(
                Head(seq, record_sha256, now).to_xml(), self.identity, SigningOptions(check_sender=False), HEAD_PROFILE
            )
            tsa = self.settings.tsa_url
            stamp = request_timestamp(signed, tsa, self.settings.tsa_timeout) if tsa else None
            return self.store.evidence.add_signed_head(seq, record_sha256, now, signed, stamp, tsa)

    def current(self) -> SignedHead:
        """The newest signed head if the chain has not moved since; else a new one."""
        seq, _ = self.store.evidence.head()
        latest = self.store.evidence.signed_heads(limit=1)
        return latest[0] if latest and latest[0].seq == seq else self.sign_head()

    def run_periodically(self, interval: float, stop: threading.Event) -> None:
        """Sign the head every ``interval`` seconds when it moved, until ``stop`` is set."""
        while not stop.wait(interval):
            try:
                self.current()
            except Exception:  # a TSA outage must not end the loop; the next round tries again
                log.exception("signing the evidence chain head failed")

    def start(self, interval: float) -> threading.Event:
        stop = threading.Event()
        threading.Thread(target=self.run_periodically, args=(interval, stop), name="head-notary", daemon=True).start()
        return stop
