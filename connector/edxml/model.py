"""The edXML package model (QCVN 102:2016): plain dataclasses, no framework imports.

Dates are ``datetime.date`` and timestamps naive ``datetime.datetime`` in the sender's local
time (edXML carries no zone). Optional text is ``None`` when the element is absent and ``""``
when present but empty, so that ``parse(build(x)) == x`` holds field by field.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

NAMESPACE = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"


class Priority(enum.IntEnum):
    """Độ khẩn."""

    NORMAL = 0  # Thường
    URGENT = 1  # Khẩn
    VERY_URGENT = 2  # Thượng khẩn
    EXPRESS = 3  # Hỏa tốc
    EXPRESS_TIMED = 4  # Hỏa tốc hẹn giờ


class BusinessDocType(enum.IntEnum):
    NEW = 0
    REVOKE = 1
    UPDATE = 2
    REPLACE = 3


class StatusCode(enum.StrEnum):
    """Business status of a document at the receiver (codes 07–12 and 14 are undefined)."""

    ARRIVED = "01"
    REFUSED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    IN_PROGRESS = "05"
    FINISHED = "06"
    TAKEN_BACK = "13"
    CHANGE_ACCEPTED = "15"
    CHANGE_REFUSED = "16"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    StatusCode.ARRIVED: "arrived (đã đến)",
    StatusCode.REFUSED: "refused (từ chối tiếp nhận)",
    StatusCode.ACCEPTED: "accepted, registered (đã tiếp nhận)",
    StatusCode.ASSIGNED: "assigned (phân công)",
    StatusCode.IN_PROGRESS: "in progress (đang xử lý)",
    StatusCode.FINISHED: "finished (hoàn thành)",
    StatusCode.TAKEN_BACK: "taken back by the sender (lấy lại)",
    StatusCode.CHANGE_ACCEPTED: "receiver agrees to update/revoke",
    StatusCode.CHANGE_REFUSED: "receiver refuses update/revoke",
}


class SignatureState(enum.StrEnum):
    """What the package carries in ``edXMLHeader/Signature``; verification is signing/'s job."""

    ABSENT = "absent"
    PLACEHOLDER = "placeholder"  # a Signature element outside the XML-DSig namespace
    XMLDSIG = "xmldsig"


class AttachmentEncoding(enum.StrEnum):
    ZIP = "zip"  # base64 of a ZIP archive holding the file (vendor practice, the default)
    BASE64 = "base64"  # base64 of the raw file


@dataclass
class Organization:
    organ_id: str
    organ_name: str | None = None
    organization_in_charge: str | None = None
    organ_add: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None


@dataclass
class Code:
    number: str | None = None
    notation: str | None = None

    def __str__(self) -> str:
        return "/".join(part for part in (self.number, self.notation) if part)


@dataclass
class PromulgationInfo:
    place: str | None = None
    date: date | None = None


@dataclass
class DocumentType:
    type: int | None = None
    type_detail: int | None = None
    type_name: str | None = None


@dataclass
class SignerInfo:
    competence: str | None = None
    position: str | None = None
    full_name: str | None = None


@dataclass
class OtherInfo:
    priority: Priority | None = None
    sphere_of_promulgation: str | None = None
    typer_notation: str | None = None
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: bool | None = None
    appendixes: list[str] = field(default_factory=list)


@dataclass
class ResponseFor:
    """The document a package answers (a reply, a result or a status report)."""

    organ_id: str | None = None
    code: str | None = None
    promulgation_date: date | None = None
    document_id: str | None = None


@dataclass
class StaffInfo:
    department: str | None = None
    staff: str | None = None
    email: str | None = None
    mobile: str | None = None


@dataclass
class TraceHeader:
    organ_id: str | None = None
    timestamp: datetime | None = None


@dataclass
class ReplacementInfo:
    """``Bussiness/ReplacementInfoList/ReplacementInfo``: a document a replacement (3) supersedes,
    and the organisations it was sent to."""

    document_id: str
    organ_ids: list[str] = field(default_factory=list)


@dataclass
class Business:
    """``TraceHeaderList/Bussiness`` (the standard's spelling): new, revoke, update, replace."""

    doc_type: BusinessDocType = BusinessDocType.NEW
    reason: str | None = None
    document_id: str | None = None
    paper: int | None = None
    staff: list[StaffInfo] = field(default_factory=list)
    replacements: list[ReplacementInfo] = field(default_factory=list)


@dataclass
class Attachment:
    content_id: str
    name: str
    data: bytes = field(repr=False)
    content_type: str = "application/octet-stream"
    description: str | None = None
    encoding: AttachmentEncoding = AttachmentEncoding.ZIP

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class DocumentPackage:
    """A document (văn bản) with its attachments."""

    sender: Organization
    recipients: list[Organization]
    document_id: str
    subject: str
    code: Code = field(default_factory=Code)
    promulgation: PromulgationInfo = field(default_factory=PromulgationInfo)
    document_type: DocumentType = field(default_factory=DocumentType)
    content: str | None = None
    signer: SignerInfo | None = None
    due_date: date | None = None
    other: OtherInfo = field(default_factory=OtherInfo)
    response_for: list[ResponseFor] = field(default_factory=list)
    steering_type: int | None = None
    to_places: list[str] = field(default_factory=list)
    traces: list[TraceHeader] = field(default_factory=list)
    business: Business | None = None
    attachments: list[Attachment] = field(default_factory=list)
    # A fact about the bytes a package was read from, not part of its content.
    signature: SignatureState = field(default=SignatureState.ABSENT, compare=False)


@dataclass
class StatusPackage:
    """A status report (gói tin trạng thái) about a document the sender received."""

    sender: Organization
    response_for: ResponseFor
    status_code: StatusCode
    timestamp: datetime
    staff: StaffInfo | None = None
    description: str | None = None
    signature: SignatureState = field(default=SignatureState.ABSENT, compare=False)


Package = DocumentPackage | StatusPackage
