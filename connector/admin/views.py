"""What the console's pages show that takes more than a store read: each package of an exchange
with its signature verdict, and the certificates with their expiry."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from connector.edxml import DocumentPackage, EdxmlError, StatusPackage, parse
from connector.store import EvidenceKind, EvidenceRecord, Store
from signing import DevKeyLayout, SignatureVerificationError, SigningIdentity, VerificationPolicy, verify_package

EXPIRY_WARNING_DAYS = 30


@dataclass(frozen=True)
class PackageView:
    record: EvidenceRecord
    digest: str
    summary: list[tuple[str, str]]
    valid: bool
    verdict: str


def package_views(store: Store, policy: VerificationPolicy, records: list[EvidenceRecord]) -> list[PackageView]:
    """The exchange's packages as received, each verified again at the time it was accepted."""
    views = []
    for record in records:
        if record.kind is not EvidenceKind.PACKAGE:
            continue
        digest = record.data["package_sha256"]
        data = store.package_bytes(digest) or b""
        try:
            result = verify_package(data, dataclasses.replace(policy, at=record.at))
            valid, verdict = True, f"Hợp lệ / valid – {result.signer_subject}"
        except SignatureVerificationError as exc:
            valid, verdict = False, f"Không hợp lệ / invalid ({exc.reason.value}): {exc.message}"
        views.append(PackageView(record, digest, _summary(data, record), valid, verdict))
    return views


def _summary(data: bytes, record: EvidenceRecord) -> list[tuple[str, str]]:
    rows = [("Operation", record.data["operation"]), ("Message id", record.data["message_id"])]
    rows.append(("Size", f"{record.data['size']:,} bytes"))
    try:
        package = parse(data)
    except EdxmlError as exc:
        return [*rows, ("Package", f"unreadable: {exc}")]
    rows.append(("Từ / From", f"{package.sender.organ_id} {package.sender.organ_name or ''}"))
    if isinstance(package, StatusPackage):
        return [*rows, ("Trạng thái / Status", f"{package.status_code.value} {package.status_code.label}")]
    assert isinstance(package, DocumentPackage)
    rows += [
        ("DocumentId", package.document_id),
        ("Số, ký hiệu / Code", str(package.code)),
        ("Trích yếu / Subject", package.subject),
    ]
    rows += [("Tệp / File", f"{a.name} ({a.size:,} bytes, sha256 {a.sha256[:16]}…)") for a in package.attachments]
    return rows


@dataclass(frozen=True)
class CertificateRow:
    role: str
    subject: str
    not_after: datetime
    days_left: int

    @property
    def warning(self) -> bool:
        return self.days_left < EXPIRY_WARNING_DAYS


def certificate_rows(
    identity: SigningIdentity,
    trust_anchors: Sequence[x509.Certificate],
    dev_keys: DevKeyLayout | None,
    now: datetime,
) -> list[CertificateRow]:
    """The connector's identity and chain, the trust anchors, and the development keys if in use."""
    found: list[tuple[str, x509.Certificate]] = [("Định danh kết nối / connector identity", identity.certificate)]
    found += [("Chuỗi / chain", c) for c in identity.chain]
    found += [("Tin cậy / trust anchor", c) for c in trust_anchors]
    if dev_keys is not None:
        keys = dev_keys
        for entry in keys.orgs.values():
            certificate = x509.load_pem_x509_certificate((keys.directory / entry.cert_file).read_bytes())
            found.append((f"Khóa phát triển / dev key {entry.organ_id}", certificate))
    rows = []
    for role, certificate in found:
        not_after = certificate.not_valid_after_utc
        rows.append(CertificateRow(role, certificate.subject.rfc4514_string(), not_after, (not_after - now).days))
    return sorted(rows, key=lambda r: r.not_after)
