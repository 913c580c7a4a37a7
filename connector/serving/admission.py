"""A memory budget for requests: at most N large ones are processed at once.

Processing a large request holds several copies of its package at its peak (about 3.5 through
the streaming path: the decoded package, the verifier's tree, the attachments; many more for a
request that falls back to spyne's path), so a handful of concurrent 90 MB requests can exhaust
a server that handles thousands of small ones. Requests above ``large_request_bytes`` take one of
``max_large_requests`` slots; when none is free the request is refused at once with the
retryable ``Server.Busy`` fault instead of waiting (a waiting request still holds its body).

The HTTP server asks ``full_for`` as soon as a request's headers are in
(``connector.serving.httpserver``): while every slot is taken, a large request is refused before
its body is read, so its client is told at once instead of after uploading it. The slot itself
is taken when the whole request has arrived (``admit``), so a request admitted from its headers
may still be refused then.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class LargeRequestGate:
    def __init__(self, large_request_bytes: int, max_large_requests: int) -> None:
        self.large_request_bytes = large_request_bytes
        self.max_large_requests = max_large_requests  # 0: no budget
        self._in_use = 0
        self._lock = threading.Lock()

    def full_for(self, length: int) -> bool:
        """Would a request of ``length`` bytes be refused now? (A look, not a reservation.)"""
        return 0 < self.max_large_requests <= self._in_use and length > self.large_request_bytes

    @contextmanager
    def admit(self, length: int, slots: int = 1) -> Iterator[bool]:
        """Yields whether a request of ``length`` bytes may be processed now (never waits).
        ``slots``: what it costs when large - more than one for a request that will be decoded
        and held whole (a UTF-16 envelope: ``wide_request_slots``), at most all of them."""
        if length <= self.large_request_bytes or self.max_large_requests <= 0:
            yield True
            return
        cost = max(1, min(slots, self.max_large_requests))
        with self._lock:
            admitted = self._in_use + cost <= self.max_large_requests
            if admitted:
                self._in_use += cost
        if not admitted:
            yield False
            return
        try:
            yield True
        finally:
            with self._lock:
                self._in_use -= cost


WIDE_STARTS = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")  # UTF-16 (with or without a BOM)


def wide_request_slots(first_bytes: bytes, max_large_requests: int) -> int:
    """A UTF-16 envelope cannot be read in chunks (``connector/soap/streaming.py``): it is decoded
    to UTF-8 and parsed whole, in spyne's path (the audit: two unauthenticated 88 MiB UTF-16
    envelopes added ~457 MiB of RSS). Its decoded size is counted against the budget by taking
    every slot: it is processed alone among large requests."""
    return max_large_requests if first_bytes.startswith(WIDE_STARTS) else 1
