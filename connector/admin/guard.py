"""The console's login under attack (issue 21, item 4): the same growing delays as the SOAP
side's (``connector/auth/ratelimit.py``), counted per (operator name, client address) and per
client address, so that guessing is slowed down and nobody at another address is locked out.
Every failed login and every refused wait is a security event."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector.auth.events import security_event
from connector.auth.ratelimit import AttemptGuard, Counter, Wait, address_key
from connector.auth.transport import TransportFacts, transport_facts


@dataclass(frozen=True)
class LoginLimits:
    per_operator_and_address: int
    per_address: int


@dataclass
class LoginGuard:
    guard: AttemptGuard
    limits: LoginLimits
    trusted_proxies: frozenset[str]

    def facts(self, environ: Mapping[str, Any]) -> TransportFacts:
        return transport_facts(environ, self.trusted_proxies)

    def counters(self, name: str, address: str) -> list[Counter]:
        where = address_key(address)
        return [
            Counter(f"console-pair:{name}@{where}", self.limits.per_operator_and_address),
            Counter(f"console-address:{where}", self.limits.per_address),
        ]

    def wait(self, name: str, address: str) -> Wait | None:
        wait = self.guard.wait(self.counters(name, address))
        if wait is not None:
            security_event("admin.login_waiting", operator=name, address=address, seconds=wait.retry_after)
        return wait

    def failed(self, name: str, address: str) -> None:
        self.guard.failed(self.counters(name, address))
        security_event("admin.login_failed", operator=name, address=address)

    def succeeded(self, name: str, address: str) -> None:
        security_event("admin.login", logging.INFO, operator=name, address=address)
