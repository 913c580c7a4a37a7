"""Realistic edXML packages (a string template) and CRLs, for the signing tests and
``bench/bench_signing.py``.

The package builder is independent of ``connector.edxml`` on purpose: the signing tests
must not break when the package model changes. Whitespace and prefixes follow what real
senders emit.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from signing.keys import DevKeyLayout, load_certificates_pem, load_private_key_pem

SENDER = "000.00.31.H31"
OTHER_ORG = "000.00.00.H31"
# The shared samples beside the checkout (../shared), or where CONNECTOR_SHARED_DIR points.
SAMPLES = (
    Path(os.environ.get("CONNECTOR_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
    / "interop"
    / "edxml-samples"
)

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


@dataclass(frozen=True)
class Attachment:
    content_id: str
    name: str
    data: bytes
    content_type: str = "application/pdf"

    def encoded(self) -> str:
        # Vendor practice: the file is zipped, then base64-encoded.
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            # Fixed timestamp: the same attachment must encode to the same bytes in every test.
            archive.writestr(zipfile.ZipInfo(self.name, date_time=(2022, 11, 26, 14, 55, 0)), self.data)
        return base64.b64encode(buffer.getvalue()).decode()


def fake_pdf(size: int, seed: int = 1) -> bytes:
    """Bytes that look like a PDF and do not compress to nothing (a realistic zip size)."""
    rng = random.Random(seed)
    body = rng.randbytes(max(size - 16, 0))
    return b"%PDF-1.4\n" + body + b"\n%%EOF\n"


@dataclass(frozen=True)
class PackageSpec:
    sender: str = "000.00.31.H31"
    sender_name: str = "Sở Tư pháp tỉnh Hưng Yên"
    receiver: str = "000.00.00.H31"
    receiver_name: str = "UBND tỉnh Hưng Yên"
    document_id: str = "000.00.31.H31,2022/11/26,125/STP-VP"
    subject: str = "V/v báo cáo kết quả giải quyết thủ tục hành chính tháng 11/2022"
    attachments: tuple[Attachment, ...] = field(
        default_factory=lambda: (
            Attachment("cid:7f3c1a52-6d2b-4d7e-9a55-0c1b2e3f4a01", "bao-cao-thang-11.pdf", fake_pdf(3000, 1)),
        )
    )
    placeholder_signature: bool = False


def _attachment_xml(attachment: Attachment) -> str:
    return f"""    <edXML:Attachment>
      <edXML:ContentId>{attachment.content_id}</edXML:ContentId>
      <edXML:AttachmentName>{attachment.name}</edXML:AttachmentName>
      <edXML:ContentType>application/zip</edXML:ContentType>
      <edXML:ContentTransferEncoded>{attachment.encoded()}</edXML:ContentTransferEncoded>
    </edXML:Attachment>
"""


def _manifest_xml(attachment: Attachment) -> str:
    return f"""        <edXML:Reference>
          <edXML:ContentId>{attachment.content_id}</edXML:ContentId>
          <edXML:ContentType>{attachment.content_type}</edXML:ContentType>
          <edXML:Description>Tệp đính kèm</edXML:Description>
          <edXML:AttachmentName>{attachment.name}</edXML:AttachmentName>
        </edXML:Reference>
"""


PLACEHOLDER = """      <edXML:Signature>
        <edXML:SignedInfo/>
      </edXML:Signature>
"""


def build_package(spec: PackageSpec = PackageSpec()) -> bytes:
    """A document package (BussinessDocType 0) with zipped+base64 attachments."""
    attachments = "".join(_attachment_xml(a) for a in spec.attachments)
    manifest = "".join(_manifest_xml(a) for a in spec.attachments)
    placeholder = PLACEHOLDER if spec.placeholder_signature else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML:edXML xmlns:edXML="{EDXML_NS}">
  <edXML:edXMLEnvelope>
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>
          <edXML:OrganId>{spec.sender}</edXML:OrganId>
          <edXML:OrganizationInCharge>{spec.sender_name}</edXML:OrganizationInCharge>
          <edXML:OrganName>{spec.sender_name}</edXML:OrganName>
          <edXML:OrganAdd>Số 6 đường Chùa Chuông, TP. Hưng Yên</edXML:OrganAdd>
          <edXML:Email>stp@hungyen.gov.vn</edXML:Email>
          <edXML:Telephone>02213862422</edXML:Telephone>
        </edXML:From>
        <edXML:To>
          <edXML:OrganId>{spec.receiver}</edXML:OrganId>
          <edXML:OrganName>{spec.receiver_name}</edXML:OrganName>
        </edXML:To>
        <edXML:DocumentId>{spec.document_id}</edXML:DocumentId>
        <edXML:Code>
          <edXML:CodeNumber>125</edXML:CodeNumber>
          <edXML:CodeNotation>STP-VP</edXML:CodeNotation>
        </edXML:Code>
        <edXML:PromulgationInfo>
          <edXML:Place>Hưng Yên</edXML:Place>
          <edXML:PromulgationDate>2022/11/26</edXML:PromulgationDate>
        </edXML:PromulgationInfo>
        <edXML:DocumentType>
          <edXML:Type>1</edXML:Type>
          <edXML:TypeName>Báo cáo</edXML:TypeName>
        </edXML:DocumentType>
        <edXML:Subject>{spec.subject}</edXML:Subject>
        <edXML:Content>Kết quả giải quyết hồ sơ một cửa tháng 11/2022</edXML:Content>
        <edXML:SignerInfo>
          <edXML:Competence>KT. GIÁM ĐỐC</edXML:Competence>
          <edXML:Position>Phó Giám đốc</edXML:Position>
          <edXML:FullName>Nguyễn Văn An</edXML:FullName>
        </edXML:SignerInfo>
        <edXML:OtherInfo>
          <edXML:Priority>0</edXML:Priority>
          <edXML:PageAmount>2</edXML:PageAmount>
        </edXML:OtherInfo>
        <edXML:SteeringType>1</edXML:SteeringType>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList>
        <edXML:TraceHeader>
          <edXML:OrganId>{spec.sender}</edXML:OrganId>
          <edXML:Timestamp>2022/11/26 14:55:03</edXML:Timestamp>
        </edXML:TraceHeader>
        <edXML:Bussiness>
          <edXML:BussinessDocType>0</edXML:BussinessDocType>
          <edXML:BussinessDocReason>Văn bản mới</edXML:BussinessDocReason>
          <edXML:Paper>0</edXML:Paper>
        </edXML:Bussiness>
      </edXML:TraceHeaderList>
{placeholder}    </edXML:edXMLHeader>
    <edXML:edXMLBody>
      <edXML:edXMLManifest version="1.0">
{manifest}      </edXML:edXMLManifest>
    </edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <edXML:AttachmentEncoded>
{attachments}  </edXML:AttachmentEncoded>
</edXML:edXML>
""".encode()


def make_crl(dev_keys: DevKeyLayout, revoked: list[tuple[x509.Certificate, dt.datetime]], path: Path) -> Path:
    """Write a PEM CRL signed by the development CA listing the given certificates."""
    ca_key = load_private_key_pem(dev_keys.ca_key_path)
    ca_cert = load_certificates_pem(dev_keys.ca_path)[0]
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - dt.timedelta(hours=1))
        .next_update(now + dt.timedelta(days=7))
    )
    for cert, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(when).build()
        )
    path.write_bytes(builder.sign(ca_key, hashes.SHA256()).public_bytes(Encoding.PEM))
    return path
