"""The verification policy: everything the verifier is allowed to accept, stated explicitly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

from .cache import BoundedCache
from .certs import normalize_fingerprint
from .keys import load_certificates_pem, load_crls

DEFAULT_SIGNATURE_METHODS: frozenset[SignatureMethod] = frozenset(
    {
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
    }
)
DEFAULT_DIGEST_ALGORITHMS: frozenset[DigestAlgorithm] = frozenset(
    {DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}
)
# Inclusive C14N is accepted on input because vendor packages use it; we only ever sign
# with exclusive C14N.
DEFAULT_C14N_METHODS: frozenset[CanonicalizationMethod] = frozenset(
    {
        CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        CanonicalizationMethod.CANONICAL_XML_1_0,
        CanonicalizationMethod.CANONICAL_XML_1_1,
    }
)
LEGACY_SHA1_SIGNATURE_METHODS = frozenset({SignatureMethod.RSA_SHA1, SignatureMethod.ECDSA_SHA1})
LEGACY_SHA1_DIGESTS = frozenset({DigestAlgorithm.SHA1})

KEY_USAGE_NAMES = frozenset({"digital_signature", "content_commitment"})
DEFAULT_MAX_BYTES = 72 * 1024 * 1024  # a package carrying a 50 MB file (zip + base64)


@dataclass(frozen=True)
class VerificationPolicy:
    """What a valid signature must satisfy. Build one per configuration and reuse it.

    Every field is documented in docs/signing.md ("Verification policy").
    """

    trust_anchors: tuple[x509.Certificate, ...]
    """Root (or pinned intermediate) CA certificates; the signer chain must end at one of them."""
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    """Local CRLs (no network fetching). A CRL applies only when signed by the certificate's issuer."""
    require_revocation_info: bool = False
    """When True, every certificate below the anchor needs a CRL from its issuer (else REVOCATION_UNKNOWN)."""
    allow_sha1: bool = False
    """Legacy senders: also accept RSA-SHA1 / SHA-1 digests. Off by default."""
    signature_methods: frozenset[SignatureMethod] = DEFAULT_SIGNATURE_METHODS
    digest_algorithms: frozenset[DigestAlgorithm] = DEFAULT_DIGEST_ALGORITHMS
    c14n_methods: frozenset[CanonicalizationMethod] = DEFAULT_C14N_METHODS
    required_key_usages: frozenset[str] = frozenset({"digital_signature"})
    """KeyUsage bits the signer certificate must have (names from cryptography's KeyUsage)."""
    at: dt.datetime | None = None
    """Verification time (timezone-aware) for archived packages; None = now."""
    org_cert_map: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """organ_id → SHA-256 fingerprints of certificates that speak for that organisation."""
    trust_subject_organ_id: bool = True
    """Also accept the OrganId in the certificate subject serialNumber (asserted by the trusted CA)."""
    pinned_signers: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """organ_id → the only fingerprints accepted for that sender, whatever else the CA issued."""
    require_signature: bool = True
    """False lets unsigned packages through as an ``UnsignedPackage`` result instead of UNSIGNED."""
    check_sender: bool = True
    """Require the package's sender OrganId to be an organisation the signer speaks for."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Size cap checked before parsing (the parser allows huge text nodes)."""
    max_certificates: int = 8
    """X509Certificate elements accepted in KeyInfo (real chains carry 1-4); more is refused with
    TOO_MANY_CERTIFICATES before any certificate is decoded."""
    chain_cache_size: int = 256
    """Certificate paths remembered (least recently used go first)."""
    chain_cache: BoundedCache = field(init=False, compare=False, repr=False)
    """Certificate paths already built under this policy, keyed by the exact chain as sent
    (see ``trust._build_chain``)."""

    def __post_init__(self) -> None:
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("VerificationPolicy.at must be timezone-aware")
        unknown = self.required_key_usages - KEY_USAGE_NAMES
        if unknown:
            raise ValueError(f"unsupported key usages {sorted(unknown)}; use {sorted(KEY_USAGE_NAMES)}")
        if not self.trust_anchors:
            raise ValueError("a verification policy needs at least one trust anchor")
        object.__setattr__(self, "trust_anchors", tuple(self.trust_anchors))
        object.__setattr__(self, "crls", tuple(self.crls))
        object.__setattr__(self, "org_cert_map", _normalize_map(self.org_cert_map))
        object.__setattr__(self, "pinned_signers", _normalize_map(self.pinned_signers))
        if self.max_certificates < 1 or self.chain_cache_size < 0:
            raise ValueError("max_certificates must be at least 1 and chain_cache_size not negative")
        object.__setattr__(self, "chain_cache", BoundedCache(self.chain_cache_size))

    @property
    def effective_signature_methods(self) -> frozenset[SignatureMethod]:
        return self.signature_methods | (LEGACY_SHA1_SIGNATURE_METHODS if self.allow_sha1 else frozenset())

    @property
    def effective_digest_algorithms(self) -> frozenset[DigestAlgorithm]:
        return self.digest_algorithms | (LEGACY_SHA1_DIGESTS if self.allow_sha1 else frozenset())

    @property
    def verification_time(self) -> dt.datetime:
        return self.at if self.at is not None else dt.datetime.now(dt.UTC)

    @classmethod
    def from_paths(
        cls,
        trust: Sequence[str | Path],
        crls: Sequence[str | Path] = (),
        **options: object,
    ) -> VerificationPolicy:
        """Load trust anchors (PEM, several per file allowed) and CRLs (PEM or DER) from files."""
        anchors = [cert for path in trust for cert in load_certificates_pem(Path(path))]
        return cls(trust_anchors=tuple(anchors), crls=tuple(load_crls(crls)), **options)  # type: ignore[arg-type]


def _normalize_map(mapping: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    return {organ_id: frozenset(normalize_fingerprint(fp) for fp in fps) for organ_id, fps in mapping.items()}
