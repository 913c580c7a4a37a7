"""The certificates the connector depends on and when they expire: its own (the receipt-signing
identity and its chain) and the trust anchors. Read by ``keys status``, ``/metrics`` and
``/health/ready``; a warning goes to the log at start when one expires within the warning window,
and again once a day while the server runs.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from signing import SigningIdentity, fingerprint_sha256, subject_text

log = logging.getLogger(__name__)


class CertRole(enum.StrEnum):
    IDENTITY = "identity"  # signs the connector's receipts
    CHAIN = "identity-chain"  # intermediates sent with the identity
    TRUST = "trust"  # anchors that package signatures must chain to


class CertState(enum.StrEnum):
    OK = "ok"
    EXPIRING = "expiring"  # within the warning window
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"


@dataclass(frozen=True)
class CertificateStatus:
    role: CertRole
    subject: str
    sha256: str
    not_before: datetime
    not_after: datetime

    @classmethod
    def of(cls, role: CertRole, cert: x509.Certificate) -> CertificateStatus:
        return cls(
            role, subject_text(cert), fingerprint_sha256(cert), cert.not_valid_before_utc, cert.not_valid_after_utc
        )

    def days_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds() / 86400

    def state(self, now: datetime, warning_days: int) -> CertState:
        if now < self.not_before:
            return CertState.NOT_YET_VALID
        if now > self.not_after:
            return CertState.EXPIRED
        return CertState.EXPIRING if self.days_left(now) <= warning_days else CertState.OK

    def usable(self, now: datetime) -> bool:
        return self.not_before <= now <= self.not_after


def certificates(identity: SigningIdentity, trust_anchors: Sequence[x509.Certificate]) -> list[CertificateStatus]:
    return (
        [CertificateStatus.of(CertRole.IDENTITY, identity.certificate)]
        + [CertificateStatus.of(CertRole.CHAIN, c) for c in identity.chain]
        + [CertificateStatus.of(CertRole.TRUST, c) for c in trust_anchors]
    )


def key_problems(certs: Iterable[CertificateStatus], now: datetime) -> list[str]:
    """What keeps the connector from working: its identity (or chain) outside its validity, or no
    usable trust anchor. An expired anchor beside valid ones is a warning, not a failure."""
    certs = list(certs)
    problems = [
        f"{c.role} certificate {c.subject} is {'expired' if now > c.not_after else 'not yet valid'} "
        f"(valid {c.not_before:%Y-%m-%d} to {c.not_after:%Y-%m-%d})"
        for c in certs
        if c.role is not CertRole.TRUST and not c.usable(now)
    ]
    if not any(c.usable(now) for c in certs if c.role is CertRole.TRUST):
        problems.append("no trust anchor is within its validity period")
    return problems


def warn_expiring(certs: Iterable[CertificateStatus], now: datetime, warning_days: int) -> None:
    for c in certs:
        state = c.state(now, warning_days)
        if state is not CertState.OK:
            log.warning(
                "%s certificate %s (sha256 %s) is %s: valid until %s (%.0f days)",
                c.role,
                c.subject,
                c.sha256[:16],
                state,
                f"{c.not_after:%Y-%m-%d}",
                c.days_left(now),
            )


class ExpiryReminder:
    """Repeats the start-up warning at most once per ``every`` while the server runs; driven by
    the scrapes and probes that read the certificates anyway (no thread of its own)."""

    def __init__(self, warned_at: datetime, every: timedelta = timedelta(days=1)) -> None:
        self.warned_at = warned_at
        self.every = every

    def remind(self, certs: Iterable[CertificateStatus], now: datetime, warning_days: int) -> None:
        if now - self.warned_at >= self.every:
            self.warned_at = now
            warn_expiring(certs, now, warning_days)
