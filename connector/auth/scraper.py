"""Who may read ``/metrics``: a scraper that sends the configured bearer token, or a client whose
address is in ``metrics_networks`` (by default the loopback addresses only).

The metrics name partner systems, their backlogs and dead letters, fault and authentication
failure counts and certificate subjects: nothing a stranger should see. The address is the one
``transport`` decides (``X-Real-IP`` only from a trusted proxy); a request relayed by a trusted
proxy without ``X-Real-IP`` has no client address to allow, only its token.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.auth.events import security_event
from connector.auth.transport import transport_facts
from connector.config import AuthSettings, ConfigError

TOKEN_ENV = "CONNECTOR_METRICS_TOKEN"
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class ScraperAccess:
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    trusted_proxies: frozenset[str]
    token: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, settings: AuthSettings, environ: Mapping[str, str] | None = None) -> ScraperAccess:
        env = os.environ if environ is None else environ
        token = env.get(TOKEN_ENV) or _read(settings.metrics_token_file)
        if token is not None and len(token) < MIN_TOKEN_LENGTH:
            raise ConfigError(f"the metrics token must have at least {MIN_TOKEN_LENGTH} characters")
        try:
            networks = tuple(ipaddress.ip_network(n, strict=False) for n in settings.metrics_networks)
        except ValueError as exc:
            raise ConfigError(f"setting 'auth.metrics_networks': {exc}") from None
        return cls(networks, frozenset(settings.trusted_proxies), token)

    def allows(self, environ: Mapping[str, Any]) -> bool:
        facts = transport_facts(environ, self.trusted_proxies)
        if self.token is not None:
            scheme, _, value = str(environ.get("HTTP_AUTHORIZATION") or "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.token.encode()):
                return True
        relayed_without_address = environ.get("REMOTE_ADDR") in self.trusted_proxies and not environ.get(
            "HTTP_X_REAL_IP"
        )
        if not relayed_without_address and _inside(facts.client_address, self.networks):
            return True
        security_event("metrics.refused", address=facts.client_address, tls=facts.tls)
        return False


def _inside(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return any(ip in network for network in networks)


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        raise ConfigError(f"cannot read the metrics token file {path}: {exc.strerror}") from None
