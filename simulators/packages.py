"""The edXML packages the simulators send, built from the facts of the document they answer.

Statuses and results must point at the document that was actually delivered (its sender, Code,
date and DocumentId: the connector finds the exchange by ``ResponseFor/DocumentId``), never at
sample constants, so the simulators work for any dossier.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from connector.edxml import (
    Attachment,
    Code,
    DocumentPackage,
    DocumentType,
    Organization,
    OtherInfo,
    Priority,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusPackage,
    TraceHeader,
    build,
)
from signing import SigningIdentity, sign_package

RESULT_SUBJECT = "Kết quả giải quyết TTHC"  # the abstract the guide gives every result
OFFICIAL_LETTER = DocumentType(1, 0, "Công văn")


@dataclass(frozen=True)
class File:
    name: str
    data: bytes
    content_type: str = "application/pdf"
    description: str | None = None
    content_id: str | None = None  # default: a fresh cid:UUID


def split_number_symbol(number_symbol: str) -> Code:
    """``22/CV_LT_MOTCUA`` → Code("22", "CV_LT_MOTCUA"); ``str(code)`` gives the original back."""
    number, _, notation = number_symbol.partition("/")
    return Code(number or None, notation or None)


def signed(package: DocumentPackage | StatusPackage, identity: SigningIdentity) -> bytes:
    return sign_package(build(package), identity)


def status_package(
    sender: Organization,
    answers: ResponseFor,
    code: StatusCode,
    at: datetime,
    staff: StaffInfo | None = None,
    description: str | None = None,
) -> StatusPackage:
    return StatusPackage(
        sender=sender,
        response_for=answers,
        status_code=code,
        timestamp=at.replace(microsecond=0),
        staff=staff,
        description=description or code.label,
    )


def _attachments(files: Sequence[File]) -> list[Attachment]:
    return [
        Attachment(
            content_id=f.content_id or f"cid:{uuid.uuid4()}",
            name=f.name,
            data=f.data,
            content_type=f.content_type,
            description=f.description,
        )
        for f in files
    ]


@dataclass(frozen=True)
class Issued:
    """What the clerk fills in when issuing (ban hành) the signed result."""

    number_symbol: str  # e.g. 22/CV_LT_MOTCUA
    issue_date: date
    signer_name: str
    signer_position: str | None
    place: str | None


def result_document_id(agency_id: str, issued: Issued) -> str:
    # The standard's readable form OrganId,yyyy/MM/dd,Number/Notation: unique per agency and book.
    return f"{agency_id},{issued.issue_date:%Y/%m/%d},{issued.number_symbol}"


def result_package(
    agency: Organization,
    to: Organization,
    answers: ResponseFor,
    issued: Issued,
    dossier_code: str,
    files: Sequence[File],
    at: datetime,
    document_id: str | None = None,
) -> DocumentPackage:
    return DocumentPackage(
        sender=agency,
        recipients=[to],
        document_id=document_id or result_document_id(agency.organ_id, issued),
        subject=RESULT_SUBJECT,
        code=split_number_symbol(issued.number_symbol),
        promulgation=PromulgationInfo(issued.place, issued.issue_date),
        document_type=OFFICIAL_LETTER,
        content=f"Kết quả giải quyết hồ sơ {dossier_code}",
        signer=SignerInfo(None, issued.signer_position, issued.signer_name),
        other=OtherInfo(priority=Priority.NORMAL),
        response_for=[answers],
        steering_type=1,
        traces=[TraceHeader(agency.organ_id, at.replace(microsecond=0))],
        attachments=_attachments(files),
    )


@dataclass(frozen=True)
class Sending:
    """The one-stop officer's "Văn bản liên thông" form."""

    dossier_code: str  # Tên hồ sơ: the guide puts the dossier code in Trích yếu
    number_symbol: str  # Số ký hiệu, e.g. 02/LT_iGate
    content: str
    officer_name: str
    place: str | None
    due_date: date | None


def send_package(
    sender: Organization,
    agency: Organization,
    sending: Sending,
    files: Sequence[File],
    at: datetime,
    document_id: str | None = None,
) -> DocumentPackage:
    return DocumentPackage(
        sender=sender,
        recipients=[agency],
        document_id=document_id or str(uuid.uuid4()),
        subject=sending.dossier_code,
        code=split_number_symbol(sending.number_symbol),
        promulgation=PromulgationInfo(sending.place, at.date()),
        document_type=OFFICIAL_LETTER,
        content=sending.content,
        signer=SignerInfo(None, "Cán bộ tiếp nhận", sending.officer_name),
        due_date=sending.due_date,
        other=OtherInfo(priority=Priority.NORMAL),
        steering_type=1,
        traces=[TraceHeader(sender.organ_id, at.replace(microsecond=0))],
        attachments=_attachments(files),
    )
