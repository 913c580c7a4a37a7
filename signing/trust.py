"""Certificate checks for a signer: validity period, KeyUsage, chain to a trust anchor, revocation.

Each check raises its own reason code so an auditor learns *why* a signer is not accepted.
Chain building uses cryptography's verifier (the same engine signxml 5.2 uses) but with the
policy's trust anchors as objects, the policy's time, and our own KeyUsage rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

from .certs import is_ca, key_usage_of, subject_text
from .errors import Reason, SignatureVerificationError
from .policy import VerificationPolicy


@dataclass(frozen=True)
class ValidatedSigner:
    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    """Leaf first, trust anchor last."""
    revocation: tuple[str, ...]
    """One line per certificate below the anchor: what revocation data was checked."""


def pick_leaf(certs: Sequence[x509.Certificate]) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """X509Data is unordered (XML-DSig §4.5.4): the signer is the one non-CA certificate that
    issued nothing else; if that is ambiguous the first certificate is taken, as signxml does."""
    candidates = [
        cert
        for cert in certs
        if not is_ca(cert) and not any(other.issuer == cert.subject for other in certs if other is not cert)
    ]
    leaf = candidates[0] if len(candidates) == 1 else certs[0]
    return leaf, [cert for cert in certs if cert is not leaf]


def _check_validity(cert: x509.Certificate, at: dt.datetime) -> None:
    if at < cert.not_valid_before_utc:
        raise SignatureVerificationError(
            Reason.CERT_NOT_YET_VALID,
            f"signer certificate {subject_text(cert)} is valid only from {cert.not_valid_before_utc.isoformat()} "
            f"(checked at {at.isoformat()})",
        )
    if at > cert.not_valid_after_utc:
        raise SignatureVerificationError(
            Reason.CERT_EXPIRED,
            f"signer certificate {subject_text(cert)} expired on {cert.not_valid_after_utc.isoformat()} "
            f"(checked at {at.isoformat()}; use --at / policy.at to verify an archived package at its time)",
        )


def _check_key_usage(cert: x509.Certificate, required: frozenset[str]) -> None:
    usage = key_usage_of(cert)
    if usage is None:
        raise SignatureVerificationError(
            Reason.KEY_USAGE, f"signer certificate {subject_text(cert)} has no KeyUsage extension"
        )
    missing = sorted(name for name in required if not getattr(usage, name))
    if missing:
        raise SignatureVerificationError(
            Reason.KEY_USAGE,
            f"signer certificate {subject_text(cert)} lacks KeyUsage {', '.join(missing)}",
        )


def _build_chain(
    leaf: x509.Certificate, intermediates: list[x509.Certificate], policy: VerificationPolicy, at: dt.datetime
) -> tuple[x509.Certificate, ...]:
    """The path from the signer to a trust anchor. A path once built is reused while ``at`` lies
    inside every certificate's validity (building one costs more than the RSA check itself);
    revocation is checked on every call, by the caller."""
    # The exact certificates as sent, in order: a path built for one chain never answers for
    # another that merely shares the leaf.
    key = tuple(cert.public_bytes(Encoding.DER) for cert in (leaf, *intermediates))
    cached = policy.chain_cache.get(key)
    if cached is not None and cached[1] <= at <= cached[2]:
        return cached[0]
    chain = _verify_path(leaf, intermediates, policy, at)
    valid_from = max(cert.not_valid_before_utc for cert in chain)
    policy.chain_cache.put(key, (chain, valid_from, min(cert.not_valid_after_utc for cert in chain)))
    return chain


def _verify_path(
    leaf: x509.Certificate, intermediates: list[x509.Certificate], policy: VerificationPolicy, at: dt.datetime
) -> tuple[x509.Certificate, ...]:
    verifier = (
        PolicyBuilder()
        .store(Store(list(policy.trust_anchors)))
        .time(at)
        # KeyUsage is checked by _check_key_usage with its own reason code; the CA side keeps
        # the Web PKI rules (CA basicConstraints, keyCertSign, modern algorithms).
        .extension_policies(ee_policy=ExtensionPolicy.permit_all(), ca_policy=ExtensionPolicy.webpki_defaults_ca())
        .build_client_verifier()
    )
    try:
        return tuple(verifier.verify(leaf, intermediates).chain)
    except VerificationError as exc:
        raise SignatureVerificationError(
            Reason.UNTRUSTED_CHAIN,
            f"signer certificate {subject_text(leaf)} (issuer {leaf.issuer.rfc4514_string()}) "
            f"does not chain to a trusted CA: {exc}",
        ) from exc


def _check_revocation(
    chain: tuple[x509.Certificate, ...], policy: VerificationPolicy, at: dt.datetime
) -> tuple[str, ...]:
    notes = []
    for cert, issuer in zip(chain, chain[1:], strict=False):
        claimed = [crl for crl in policy.crls if crl.issuer == issuer.subject]
        genuine = [crl for crl in claimed if crl.is_signature_valid(issuer.public_key())]  # type: ignore[arg-type]
        if claimed and not genuine:
            raise SignatureVerificationError(
                Reason.REVOCATION_UNKNOWN,
                f"the configured CRL for {subject_text(issuer)} is not signed by that CA",
            )
        if not genuine:
            if policy.require_revocation_info:
                raise SignatureVerificationError(
                    Reason.REVOCATION_UNKNOWN, f"no CRL configured for issuer {subject_text(issuer)}"
                )
            notes.append(f"{subject_text(cert)}: not checked (no CRL configured for its issuer)")
            continue
        for crl in genuine:
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            # A revocation after the verification time does not invalidate an archived signature.
            if entry is not None and entry.revocation_date_utc <= at:
                raise SignatureVerificationError(
                    Reason.REVOKED,
                    f"certificate {subject_text(cert)} (serial {cert.serial_number:x}) was revoked on "
                    f"{entry.revocation_date_utc.isoformat()} according to the CRL of {subject_text(issuer)}",
                )
        newest = max(genuine, key=lambda crl: crl.last_update_utc)
        due = newest.next_update_utc
        stale = f", STALE: next update was due {due.isoformat()}" if due is not None and due < at else ""
        notes.append(f"{subject_text(cert)}: not revoked (CRL of {newest.last_update_utc.isoformat()}{stale})")
    return tuple(notes)


def validate_signer(certs: Sequence[x509.Certificate], policy: VerificationPolicy) -> ValidatedSigner:
    """Run the certificate checks in a fixed order; the first failure gives the reason."""
    at = policy.verification_time
    leaf, others = pick_leaf(certs)
    _check_validity(leaf, at)
    _check_key_usage(leaf, policy.required_key_usages)
    chain = _build_chain(leaf, others, policy, at)
    return ValidatedSigner(leaf=leaf, chain=chain, revocation=_check_revocation(chain, policy, at))
