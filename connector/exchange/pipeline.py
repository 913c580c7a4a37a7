"""The request pipeline's package stages, each a plain function so it can be measured alone.

Order (after the SOAP layer's size cap, hardened parse and XSD validation):
verify signature → validate edXML → check the sender → (routing, persist, receipt in service).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from lxml import etree

from connector.edxml import (
    DocumentPackage,
    EdxmlError,
    Package,
    ParseLimits,
    ValidationSettings,
    check_attributes,
    check_received,
    check_tree,
    validate_tree,
)
from connector.errors import ConnectorError, ErrorCode
from connector.store import PackageBlob, StoredAttachment
from signing import Reason, SignatureVerificationError, VerificationPolicy, VerifiedPackage, verify_package

FAULT_OF_REASON: dict[Reason, tuple[ErrorCode, str]] = {
    Reason.SIGNER_MISMATCH: (ErrorCode.SENDER_MISMATCH, "package/Signature"),
    Reason.PINNED_SIGNER_MISMATCH: (ErrorCode.SENDER_MISMATCH, "package/Signature"),
    Reason.MALFORMED_XML: (ErrorCode.MALFORMED_XML, "package"),
    Reason.WRONG_DOCUMENT: (ErrorCode.NOT_EDXML, "package"),
    Reason.DOCUMENT_TOO_LARGE: (ErrorCode.TOO_LARGE, "package"),
}
"""The fault code and field of a signature verification failure; any other reason is
``SIGNATURE_INVALID`` on ``package/Signature``. The faultstring starts with the reason."""
_DEFAULT_FAULT = (ErrorCode.SIGNATURE_INVALID, "package/Signature")


@dataclass
class StageTimings:
    """Seconds spent per stage for one request (read by benchmarks and metrics), and why the
    signature was refused when it was (the verifier's ``Reason``, for metrics)."""

    seconds: dict[str, float] = field(default_factory=dict)
    signature_failure: str | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


@dataclass(frozen=True)
class AcceptedPackage:
    """A package that passed every stage. ``package`` was read from the signed content only; the
    verifier's trees and canonical bytes are not kept (a 20 MB package would be held twice more)."""

    original: bytes  # as received, kept as evidence
    package: Package
    digest: str  # SHA-256 of the original bytes

    def blob(self) -> PackageBlob:
        files = self.package.attachments if isinstance(self.package, DocumentPackage) else []
        attachments = tuple(StoredAttachment(a.content_id, a.name, a.content_type, a.sha256, a.data) for a in files)
        return PackageBlob(self.digest, self.original, attachments)


def verify_signature(data: bytes, policy: VerificationPolicy, timings: StageTimings | None = None) -> VerifiedPackage:
    try:
        return verify_package(data, policy)
    except SignatureVerificationError as exc:
        if timings is not None:
            timings.signature_failure = exc.reason.value
        code, where = FAULT_OF_REASON.get(exc.reason, _DEFAULT_FAULT)
        raise ConnectorError(code, f"{exc.reason}: {exc.message}", where) from None


def validate_package(signed_root: etree._Element, settings: ValidationSettings, limits: ParseLimits) -> Package:
    """edXML validation of what the signature covers, on the verifier's own parse of it
    (``VerifiedPackage.signed_root``: the signed bytes are not parsed a second time)."""
    tree = signed_root.getroottree()
    try:
        check_tree(tree, limits)
    except EdxmlError as exc:
        raise ConnectorError(exc.code, f"package: {exc.message}", "package") from None
    report = validate_tree(tree, settings, limits)
    if not report.valid or report.package is None:
        error = EdxmlError(report.issues)
        raise ConnectorError(error.code, f"package: {error.message}", f"package{error.field or ''}")
    return report.package


def check_attribute_floods(data: bytes, limits: ParseLimits) -> None:
    """Attribute caps before the verifier canonicalises the package (quadratic in one
    element's attributes); nearly free for real packages (``connector.edxml.check_attributes``)."""
    try:
        check_attributes(data, limits)
    except EdxmlError as exc:
        raise ConnectorError(exc.code, f"package: {exc.message}", f"package{exc.field or ''}") from None


def check_received_bytes(data: bytes) -> None:
    """What canonicalisation would hide from ``validate_package`` but a receiver of the package
    as received would read: a lying encoding declaration, comments or processing instructions
    in the header (``connector.edxml.check_received``: only the header is read again)."""
    try:
        check_received(data)
    except EdxmlError as exc:
        raise ConnectorError(exc.code, f"package: {exc.message}", f"package{exc.field or ''}") from None


def accept_package(
    data: bytes,
    policy: VerificationPolicy,
    settings: ValidationSettings,
    limits: ParseLimits,
    timings: StageTimings,
    digest: str | None = None,
) -> AcceptedPackage:
    """The package stages. ``digest``: the SHA-256 of ``data`` when the caller has it already."""
    if not data:
        raise ConnectorError(ErrorCode.SCHEMA_INVALID, "package is empty", "package")
    if len(data) > limits.max_bytes:
        raise ConnectorError(
            ErrorCode.TOO_LARGE, f"package is {len(data):,} bytes; the limit is {limits.max_bytes:,}", "package"
        )
    with timings.stage("verify"):
        check_attribute_floods(data, limits)
        # Only the verifier's tree is read on: its canonical bytes (one more copy of the
        # package) are not kept while the attachments are decoded.
        signed_root = verify_signature(data, policy, timings).signed_root
    with timings.stage("validate"):
        check_received_bytes(data)
        package = validate_package(signed_root, settings, limits)
    return AcceptedPackage(data, package, digest or hashlib.sha256(data).hexdigest())
