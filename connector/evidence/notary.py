"""Signing the evidence chain's head: periodically, and on demand (an export, an operator).

A signed head is the connector's statement "at ``signed_at`` the chain ended at record N with
hash H; this is head number K, after the head whose bytes hash to P", signed with its identity
like a receipt and, when ``tsa_url`` is set, time-stamped by an RFC 3161 authority (the time-stamp
covers the signed head's exact bytes). Each head is noted in the chain in the transaction that
keeps it, so a deleted head shows (``connector/store/evidence_check.py``); with ``heads_dir`` set
each is also written there as a file, to leave the box.

When the TSA fails, an operator's command fails (they asked for a stamped head), while the
periodic round keeps the head unstamped rather than lose it, logs a warning, and asks the TSA
again for every unstamped head at its next round.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from connector.clock import utcnow
from connector.store import SignedHead, Store, StoreConflictError
from signing import (
    GENESIS,
    HEAD_PROFILE,
    Head,
    SigningIdentity,
    SigningOptions,
    TimestampError,
    request_timestamp,
    sha256_hex,
    sign_xml,
)

log = logging.getLogger(__name__)
_ATTEMPTS = 3  # another process may number the same head meanwhile: sign again with the next number


@dataclass(frozen=True)
class NotarySettings:
    tsa_url: str | None = None
    tsa_timeout: float = 10.0
    heads_dir: Path | None = None


class HeadNotary:
    """Signs the current chain head with the connector's identity (and a TSA, if configured)."""

    def __init__(self, store: Store, identity: SigningIdentity, settings: NotarySettings) -> None:
        self.store = store
        self.identity = identity
        self.settings = settings
        self._lock = threading.Lock()  # one signature at a time per process

    def sign_head(self, require_timestamp: bool = True) -> SignedHead:
        """A new signed head for the chain as it is now. With a TSA configured, a failing TSA
        raises ``TimestampError`` unless ``require_timestamp`` is False (the head is then kept
        unstamped, to be stamped later by ``stamp_pending``)."""
        with self._lock:
            for attempt in range(1, _ATTEMPTS + 1):
                try:
                    head = self._sign_once(require_timestamp)
                except StoreConflictError:
                    if attempt == _ATTEMPTS:
                        raise
                    continue
                self._leave_the_box(head)
                return head
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _sign_once(self, require_timestamp: bool) -> SignedHead:
        evidence = self.store.evidence
        latest = evidence.latest_numbered_head()
        number = latest.number + 1 if latest and latest.number else 1
        prev = sha256_hex(latest.signed_xml) if latest else GENESIS
        seq, record_sha256 = evidence.head()
        now = utcnow()
        document = Head(seq, record_sha256, now, number, prev).to_xml()
        signed = sign_xml(document, self.identity, SigningOptions(check_sender=False), HEAD_PROFILE)
        stamp = self._stamp(signed, require_timestamp)
        head = SignedHead(0, seq, record_sha256, now, signed, stamp, self.settings.tsa_url, number, prev)
        return evidence.add_signed_head(head, now)

    def _stamp(self, signed: bytes, required: bool) -> bytes | None:
        tsa = self.settings.tsa_url
        if not tsa:
            return None
        try:
            return request_timestamp(signed, tsa, self.settings.tsa_timeout)
        except TimestampError:
            if required:
                raise
            log.warning("the time-stamping authority failed; the head is kept unstamped", exc_info=True)
            return None

    def stamp_pending(self) -> int:
        """Ask the TSA again for every head kept unstamped; returns how many got their stamp."""
        if not self.settings.tsa_url:
            return 0
        stamped = 0
        for head in self.store.evidence.unstamped_heads():
            stamp = self._stamp(head.signed_xml, required=False)
            if stamp is None:
                break  # still down: the next round tries again
            self.store.evidence.set_timestamp(head.head_id, stamp)
            self._leave_the_box(dataclasses.replace(head, timestamp_response=stamp))
            stamped += 1
        return stamped

    def _leave_the_box(self, head: SignedHead) -> None:
        """Write the head (and its stamp) into ``heads_dir``; a failure is logged, never raised:
        the head is kept in the store and ``evidence heads export`` can still take it out."""
        directory = self.settings.heads_dir
        if directory is None or head.number is None:
            return
        try:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / f"head-{head.number:06d}.xml").write_bytes(head.signed_xml)
            if head.timestamp_response:
                (directory / f"head-{head.number:06d}.tsr").write_bytes(head.timestamp_response)
        except OSError:
            log.exception("cannot write signed head %s into %s", head.number, directory)

    def current(self) -> SignedHead:
        """The newest signed head if the chain has not moved since (its own note aside); else a new one."""
        seq, _ = self.store.evidence.head()
        latest = self.store.evidence.signed_heads(limit=1)
        return latest[0] if latest and seq in (latest[0].seq, latest[0].noted_seq) else self.sign_head()

    def run_periodically(self, interval: float, stop: threading.Event) -> None:
        """Sign the head every ``interval`` seconds when it moved, until ``stop`` is set."""
        while not stop.wait(interval):
            try:
                self.stamp_pending()
                seq, _ = self.store.evidence.head()
                latest = self.store.evidence.signed_heads(limit=1)
                if not latest or seq not in (latest[0].seq, latest[0].noted_seq):
                    self.sign_head(require_timestamp=False)
            except Exception:  # a database outage must not end the loop; the next round tries again
                log.exception("signing the evidence chain head failed")

    def start(self, interval: float) -> threading.Event:
        stop = threading.Event()
        threading.Thread(target=self.run_periodically, args=(interval, stop), name="head-notary", daemon=True).start()
        return stop
