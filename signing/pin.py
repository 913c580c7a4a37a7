"""Who must have signed what the connector itself signs (heads, manifests, receipts).

A trust anchor alone is not enough: every partner holds a certificate under the same CA, so a
partner could re-sign a rewritten chain head and it would chain to the anchor. The auditor
therefore names the connector: by its certificate (``--connector-cert``, exact SHA-256) or by its
OrganId (``--connector``, any certificate under the trust anchors whose subject serialNumber is
that OrganId, e.g. after a renewal). ``ANY_SIGNER`` is an explicit, reported choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from .certs import fingerprint_sha256, normalize_fingerprint
from .errors import KeyMaterialError
from .verify import VerifiedPackage


@dataclass(frozen=True)
class SignerPin:
    """The expected signer: one certificate, one OrganId, or (explicitly) anyone trusted."""

    fingerprint: str | None = None
    organ_id: str | None = None

    @classmethod
    def certificate(cls, cert: x509.Certificate) -> SignerPin:
        return cls(fingerprint=fingerprint_sha256(cert))

    @classmethod
    def certificate_file(cls, path: Path) -> SignerPin:
        try:
            first = x509.load_pem_x509_certificates(path.read_bytes())[0]
        except (OSError, ValueError, IndexError) as exc:
            raise KeyMaterialError(f"cannot read the connector certificate {path}: {exc}") from None
        return cls.certificate(first)

    @property
    def any_signer(self) -> bool:
        return self.fingerprint is None and self.organ_id is None

    def describe(self) -> str:
        if self.fingerprint:
            return f"the certificate with SHA-256 {normalize_fingerprint(self.fingerprint)}"
        if self.organ_id:
            return f"a certificate of OrganId {self.organ_id}"
        return "any trusted signer (NOT pinned)"

    def refusal(self, result: VerifiedPackage) -> str | None:
        """Why this verified signature is not the expected signer's, or None when it is."""
        if self.fingerprint and normalize_fingerprint(self.fingerprint) != result.signer_fingerprint:
            return (
                f"signed by {result.signer_subject} (SHA-256 {result.signer_fingerprint}), "
                f"not by the connector ({self.describe()})"
            )
        if self.organ_id and result.signer_organ_id != self.organ_id:
            return (
                f"signed by {result.signer_subject} (OrganId {result.signer_organ_id or 'none'}), "
                f"not by the connector ({self.describe()})"
            )
        return None


ANY_SIGNER = SignerPin()
