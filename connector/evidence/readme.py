"""The README.txt inside an evidence bundle, in Vietnamese and English: what each member is, who
signed, which head covers the records, and how to check it all (docs/evidence.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from signing import BundleLayout as L

_MEMBERS = (
    (L.MIMETYPE, "kiểu tệp của gói", "the bundle's media type"),
    (
        L.MANIFEST,
        "danh sách mọi tệp kèm SHA-256, do hệ thống kết nối ký",
        "every member's SHA-256, signed by the connector",
    ),
    (L.README, "tệp này", "this file"),
    (L.TIMELINE, "diễn biến hồ sơ theo các bản ghi chứng cứ", "the dossier's timeline as the evidence records tell it"),
    (
        L.PACKAGES,
        "gói tin edXML đúng như đã nhận (tên = SHA-256)",
        "edXML packages exactly as received (named by SHA-256)",
    ),
    (L.RECEIPTS, "biên nhận do hệ thống kết nối ký", "receipts the connector signed"),
    (
        L.RECORDS,
        "bản ghi chứng cứ của hồ sơ, đúng từng byte đã băm",
        "the dossier's evidence records, the exact bytes hashed",
    ),
    (
        L.CHAIN,
        "chuỗi băm từ bản ghi đầu tiên của hồ sơ đến đầu chuỗi đã ký",
        "the hash chain from its first record to the signed head",
    ),
    (L.HEAD, "đầu chuỗi đã ký", "the signed chain head"),
    (
        L.HEAD_TIMESTAMP,
        "dấu thời gian RFC 3161 của đầu chuỗi (nếu có)",
        "the head's RFC 3161 time-stamp (when present)",
    ),
    (L.CERTS, "chứng thư số của hệ thống kết nối và CA", "the connector's certificate chain and the CAs"),
    (L.CRLS, "danh sách thu hồi chứng thư", "certificate revocation lists"),
)


@dataclass(frozen=True)
class ReadmeFacts:
    subject: str
    signer_subject: str
    signer_sha256: str
    signer_organ_id: str | None
    head_number: int | None
    head_seq: int
    head_signed_at: datetime
    first_seq: int | None
    time_stamped: bool


def readme(facts: ReadmeFacts) -> bytes:
    head = f"{facts.head_number}" if facts.head_number is not None else "(legacy)"
    stamp_vi = "có dấu thời gian RFC 3161" if facts.time_stamped else "không có dấu thời gian"
    stamp_en = "RFC 3161 time-stamped" if facts.time_stamped else "not time-stamped"
    span = f"{facts.first_seq}..{facts.head_seq}" if facts.first_seq is not None else f"..{facts.head_seq}"
    pin = f"--connector {facts.signer_organ_id}" if facts.signer_organ_id else "--connector-cert CONNECTOR.pem"
    lines = [
        f"GÓI CHỨNG CỨ / EVIDENCE BUNDLE: {facts.subject}",
        "",
        "== Tiếng Việt ==",
        f"Hồ sơ/thông điệp: {facts.subject}.",
        f"Người ký (hệ thống kết nối): {facts.signer_subject}",
        f"  SHA-256 chứng thư: {facts.signer_sha256}",
        f"Đầu chuỗi đã ký số {head}: bản ghi {facts.head_seq}, lúc {facts.head_signed_at.isoformat()}, {stamp_vi}.",
        f"Chuỗi trong gói: bản ghi {span}.",
        "Kiểm tra: python -m signing verify-bundle GOI.zip --trust CA.pem [--trust TSA-CA.pem] " + pin,
        "Chỉ tin chứng thư của hệ thống kết nối lấy từ đơn vị vận hành qua kênh khác, không lấy từ gói này.",
        "Kiểm tra thủ công bằng xmlsec1, openssl, sha256sum: xem docs/evidence.md, mục “By hand”.",
        "",
        "== English ==",
        f"Dossier or message: {facts.subject}.",
        f"Signed by the connector: {facts.signer_subject}",
        f"  certificate SHA-256: {facts.signer_sha256}",
        f"Signed head {head}: record {facts.head_seq}, at {facts.head_signed_at.isoformat()}, {stamp_en}.",
        f"Chain in this bundle: records {span}.",
        "Verify: python -m signing verify-bundle BUNDLE.zip --trust CA.pem [--trust TSA-CA.pem] " + pin,
        "Trust the connector's certificate only as obtained from its operator by another channel,",
        "never from this bundle.",
        "By hand with xmlsec1, openssl and sha256sum: docs/evidence.md, section “By hand”.",
        "",
        "== Tệp / Members ==",
        *(f"{name:28} {vi} / {en}" for name, vi, en in _MEMBERS),
        "",
    ]
    return "\n".join(lines).encode("utf-8")
