"""Idle sockets must not stall the server (issue 21, item 3): 1,000 connections that never send a
byte, or 1,000 idle kept-alive ones, from one host held every slot of waitress's
``connection_limit`` until its ``channel_timeout`` sweep - a legitimate ``getStatus`` waited
40 s. Three rules, applied in waitress's event loop (``connector.serving.httpserver``):

- **Per address.** At most ``max_connections_per_address`` open connections from one TCP peer
  (the trusted proxies, which carry everyone's traffic, are exempt); one more is closed as it
  arrives.
- **A request head in time.** A connection must send a complete request head within
  ``header_timeout`` of its opening, or of the end of its previous answer when kept alive; if not
  it is closed (``channel_timeout`` still bounds silence inside a body).
- **Room near the limit.** When the open connections reach 95 % of ``connection_limit``, the
  connections waiting for a request head are closed until 90 % remain - kept-alive idle ones first,
  then those that never sent a byte, then half-sent heads, oldest first. A connection whose request
  is being read (its head complete), processed or answered is never chosen.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionPolicy:
    connection_limit: int
    header_timeout: float
    """0: no head deadline (only waitress's ``channel_timeout``)."""
    max_per_address: int
    """0: no per-address cap."""
    exempt: frozenset[str] = frozenset()
    """Peers without a per-address cap: the trusted proxies."""

    @property
    def high_water(self) -> int:
        return max(1, self.connection_limit * 95 // 100)

    @property
    def low_water(self) -> int:
        return max(1, self.connection_limit * 90 // 100)


def waiting_for_head(channel: Any) -> bool:
    """Is the connection between requests or inside a request head (nothing to process or send)?"""
    request = channel.request
    return (
        not channel.requests
        and not channel.total_outbufs_len
        and not channel.will_close
        and (request is None or not request.headers_finished)
    )


def _eviction_order(channel: Any) -> tuple[int, float]:
    """Kept-alive idle first, then never a byte, then half-sent heads; oldest first within each."""
    if channel.request is not None:
        kind = 2  # part of a head
    elif getattr(channel, "served", 0):
        kind = 0  # idle between requests
    else:
        kind = 1  # silent since it connected
    return kind, channel.head_clock


class AddressCounts:
    """Open connections per TCP peer, kept as channels open and close."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    def opened(self, address: str) -> int:
        self._open[address] += 1
        return self._open[address]

    def closed(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]


class GuardedServer:
    """Mixed into waitress's server classes by ``httpserver.create_server``."""

    policy: ConnectionPolicy
    address_counts: AddressCounts
    active_channels: dict[int, Any]
    _map: dict[int, Any]
    accepting: bool

    def readable(self) -> bool:
        if self.accepting and len(self._map) >= self.policy.high_water:
            self.make_room()
        return super().readable()  # type: ignore[misc]

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # type: ignore[misc]
        if self.policy.header_timeout <= 0:
            return
        cutoff = now - self.policy.header_timeout
        for channel in list(self.active_channels.values()):
            if waiting_for_head(channel) and getattr(channel, "head_clock", now) < cutoff:
                channel.will_close = True

    def make_room(self) -> None:
        closing = sum(1 for c in self.active_channels.values() if c.will_close)
        excess = len(self._map) - closing - self.policy.low_water
        if excess <= 0:
            return
        idle = sorted((c for c in self.active_channels.values() if waiting_for_head(c)), key=_eviction_order)
        for channel in idle[:excess]:
            channel.will_close = True
        log.info("near the connection limit: %d waiting connections closed", min(excess, len(idle)))
