"""Exceptions and the stable reason codes reported by the verifier."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a package failed verification.

    The values are stable: callers, logs and the CLI's ``--json`` output rely on them.
    ``docs/signing.md`` has the table with what each one means for an auditor.
    """

    DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE"
    MALFORMED_XML = "MALFORMED_XML"
    WRONG_DOCUMENT = "WRONG_DOCUMENT"
    UNSIGNED = "UNSIGNED"
    WRAPPING = "WRAPPING"
    MALFORMED_SIGNATURE = "MALFORMED_SIGNATURE"
    TOO_MANY_CERTIFICATES = "TOO_MANY_CERTIFICATES"
    ALGORITHM_NOT_ALLOWED = "ALGORITHM_NOT_ALLOWED"
    WRONG_REFERENCE = "WRONG_REFERENCE"
    CERT_EXPIRED = "CERT_EXPIRED"
    CERT_NOT_YET_VALID = "CERT_NOT_YET_VALID"
    KEY_USAGE = "KEY_USAGE"
    UNTRUSTED_CHAIN = "UNTRUSTED_CHAIN"
    REVOKED = "REVOKED"
    REVOCATION_UNKNOWN = "REVOCATION_UNKNOWN"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    DIGEST_MISMATCH = "DIGEST_MISMATCH"
    SIGNER_MISMATCH = "SIGNER_MISMATCH"
    PINNED_SIGNER_MISMATCH = "PINNED_SIGNER_MISMATCH"


class SigningError(Exception):
    """The root of every error the signing package raises."""


class CannotSignError(SigningError):
    """A package could not be signed (bad input, existing signature, wrong key)."""


class KeyMaterialError(SigningError):
    """Keys, certificates, passwords or CRLs could not be loaded."""


class SignatureVerificationError(SigningError):
    """Verification failed; ``reason`` is the stable code, ``message`` the human explanation."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.message = message
