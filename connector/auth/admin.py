"""The operator's side of credentials (``python -m connector credentials ...``, the demo, the
tests): set a system's password, map a client certificate, revoke, list – never showing a secret."""

from __future__ import annotations

import logging
import secrets

from cryptography import x509

from connector.auth.events import security_event
from connector.auth.secretbox import SecretBox
from connector.clock import utcnow
from connector.errors import SimpleError
from connector.store import CertificateMapping, CredentialStore, CredentialSummary, Store
from signing import fingerprint_sha256

MIN_PASSWORD_LENGTH = 12


class CredentialError(SimpleError, ValueError):
    """A credential the operator asked for cannot be set; the message says why."""


def generate_password() -> str:
    return secrets.token_urlsafe(24)


class CredentialAdmin:
    def __init__(self, store: Store, box: SecretBox) -> None:
        self.store = store
        self.credentials = CredentialStore(store)
        self.box = box

    def _system(self, system_id: str) -> None:
        if self.store.system(system_id) is None:
            raise CredentialError(f"system {system_id!r} is not in the directory (python -m connector directory list)")

    def set_password(self, system_id: str, password: str) -> None:
        self._system(system_id)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise CredentialError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
        self.credentials.set_password(system_id, self.box.seal(password), utcnow())
        security_event("credentials.password_set", logging.INFO, system=system_id)

    def set_partner_secret(self, system_id: str, secret: str) -> None:
        """The connector's secret at a partner that has ``auth`` in the directory (a gateway's
        OAuth2 client secret, the national axis's HMAC key), stored sealed like passwords."""
        system = self.store.system(system_id)
        if system is None:
            raise CredentialError(f"system {system_id!r} is not in the directory (python -m connector directory list)")
        if system.auth is None:
            raise CredentialError(f"system {system_id!r} has no auth in the directory: the connector needs no secret")
        if not secret:
            raise CredentialError("the secret is empty")
        self.credentials.set_partner_secret(system_id, self.box.seal(secret), utcnow())
        security_event("credentials.partner_secret_set", logging.INFO, system=system_id)

    def map_certificate(self, system_id: str, certificate: x509.Certificate) -> CertificateMapping:
        self._system(system_id)
        mapping = CertificateMapping(
            fingerprint_sha256(certificate),
            system_id,
            certificate.subject.rfc4514_string(),
            certificate.not_valid_after_utc,
            utcnow(),
        )
        self.credentials.map_certificate(mapping)
        security_event("credentials.certificate_mapped", logging.INFO, system=system_id, sha256=mapping.sha256)
        return mapping

    def revoke(self, system_id: str) -> int:
        removed = self.credentials.revoke(system_id)
        security_event("credentials.revoked", logging.INFO, system=system_id, removed=removed)
        return removed

    def list(self) -> list[CredentialSummary]:
        return self.credentials.summaries()
