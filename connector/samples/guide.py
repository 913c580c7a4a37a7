"""The provincial guide's scenario as real packages (names and contacts invented).

Procedure 2.000908.000.00.00.H31 (copy from the original register), dossier
Bo_Thu_Tuc_Cap_Huyen-221126-0003, sent as Số ký hiệu 02/LT_iGate, answered by the issued
result 22/CV_LT_MOTCUA signed by the vice-chairman on 2022/11/26.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from connector.edxml.model import (
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
)
from connector.samples.pdf import make_pdf

PROCEDURE_CODE = "2.000908.000.00.00.H31"
PROCEDURE_NAME = "Thủ tục Cấp bản sao từ sổ gốc"
DOSSIER_CODE = "Bo_Thu_Tuc_Cap_Huyen-221126-0003"
ONESTOP_DOSSIER_NUMBER = "1948087"
SEND_CODE = Code("02", "LT_iGate")
RESULT_CODE = Code("22", "CV_LT_MOTCUA")
RESULT_IDENTIFIER = "001.00.31.W00-2022-22.CV_LT_MOTCUA"
RECEIVED_AT = datetime(2022, 11, 26, 15, 9, 15)
ISSUED_ON = date(2022, 11, 26)

ONESTOP = Organization(
    organ_id="000.00.13.H31",
    organ_name="Trung tâm Phục vụ hành chính công tỉnh Hưng Yên",
    organization_in_charge="UBND tỉnh Hưng Yên",
    organ_add="Số 10 đường Chùa Chuông, TP Hưng Yên",
    email="motcua@hungyen.example.vn",
    telephone="0221 3000 001",
)
AGENCY = Organization(
    organ_id="000.00.31.H31",
    organ_name="Sở Tư pháp tỉnh Hưng Yên",
    organization_in_charge="UBND tỉnh Hưng Yên",
    organ_add="Số 2 đường Hải Thượng Lãn Ông, TP Hưng Yên",
    email="stp@hungyen.example.vn",
    telephone="0221 3000 031",
)


@dataclass(frozen=True)
class Dossier:
    code: str
    onestop_number: str
    applicant: str
    officer: str  # the sending officer's username (the same in both systems, per the guide)


GUIDE_DOSSIER = Dossier(DOSSIER_CODE, ONESTOP_DOSSIER_NUMBER, "Nguyễn Văn An", "cbtiepnhan")


def document_id_for(dossier_code: str, kind: str = "send") -> str:
    """Stable ids, so the same dossier always yields the same DocumentId (de-duplication key)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:edxml-connector:{kind}:{dossier_code}"))


def dossier_pdf(dossier: Dossier = GUIDE_DOSSIER, padding: int = 0) -> bytes:
    return make_pdf(
        [
            "HO SO THU TUC HANH CHINH",
            f"Ma ho so: {dossier.code}",
            f"Thu tuc: {PROCEDURE_CODE} - {PROCEDURE_NAME}",
            f"Nguoi nop: {dossier.applicant}",
            f"Ngay tiep nhan: {RECEIVED_AT:%d/%m/%Y %H:%M:%S}",
        ],
        padding=padding,
    )


def result_pdf(dossier: Dossier = GUIDE_DOSSIER) -> bytes:
    return make_pdf(
        [
            "UBND TINH HUNG YEN - SO TU PHAP",
            f"So: {RESULT_CODE}",
            "V/v: Ket qua giai quyet TTHC",
            f"Ho so: {dossier.code} (so ho so iGate {dossier.onestop_number})",
            "KT. CHU TICH - PHO CHU TICH",
        ]
    )


def send_package(dossier: Dossier = GUIDE_DOSSIER, padding: int = 0) -> DocumentPackage:
    """What the one-stop system sends: the dossier's file as an interconnection document."""
    package = DocumentPackage(
        sender=ONESTOP,
        recipients=[AGENCY],
        document_id=document_id_for(dossier.code),
        subject=dossier.code,  # the guide puts the dossier code in Trích yếu
        code=SEND_CODE,
        promulgation=PromulgationInfo("Hưng Yên", RECEIVED_AT.date()),
        document_type=DocumentType(1, 0, "Công văn"),
        content=f"Hồ sơ {PROCEDURE_NAME} của công dân {dossier.applicant}",
        signer=SignerInfo("Cán bộ tiếp nhận", "Chuyên viên", "Cán bộ tiếp nhận test"),
        due_date=RECEIVED_AT.date(),
        other=OtherInfo(priority=Priority.NORMAL, sphere_of_promulgation="Lưu hành nội bộ", page_amount=1),
        steering_type=1,
        traces=[TraceHeader(ONESTOP.organ_id, RECEIVED_AT)],
        attachments=[
            Attachment(
                content_id=f"cid:{document_id_for(dossier.code, 'file')}",
                name="DM_1669450153.pdf",
                data=dossier_pdf(dossier, padding),
                content_type="application/pdf",
                description="Thành phần hồ sơ",
            )
        ],
    )
    return copy.deepcopy(package)  # callers may change it; the shared constants must not


def result_package(dossier: Dossier = GUIDE_DOSSIER) -> DocumentPackage:
    """What the document-management system publishes after issuing the result."""
    package = DocumentPackage(
        sender=AGENCY,
        recipients=[ONESTOP],
        document_id=document_id_for(dossier.code, "result"),
        subject="Kết quả giải quyết TTHC",
        code=RESULT_CODE,
        promulgation=PromulgationInfo("Hưng Yên", ISSUED_ON),
        document_type=DocumentType(1, 0, "Công văn"),
        content=f"Kết quả giải quyết hồ sơ {dossier.code}",
        signer=SignerInfo("KT. Chủ tịch", "Phó Chủ tịch", "phochutich"),
        other=OtherInfo(priority=Priority.NORMAL),
        response_for=[ResponseFor(ONESTOP.organ_id, str(SEND_CODE), RECEIVED_AT.date(), document_id_for(dossier.code))],
        steering_type=1,
        traces=[TraceHeader(AGENCY.organ_id, datetime.combine(ISSUED_ON, datetime.min.time()).replace(hour=16))],
        attachments=[
            Attachment(
                content_id=f"cid:{document_id_for(dossier.code, 'result-file')}",
                name="22_CV_LT_MOTCUA.pdf",
                data=result_pdf(dossier),
                content_type="application/pdf",
                description="Tệp tin kết quả",
            )
        ],
    )
    return copy.deepcopy(package)


def status_package(code: StatusCode, dossier: Dossier = GUIDE_DOSSIER, at: datetime | None = None) -> StatusPackage:
    """A status report from the agency about the dossier's document."""
    package = StatusPackage(
        sender=AGENCY,
        response_for=ResponseFor(ONESTOP.organ_id, str(SEND_CODE), RECEIVED_AT.date(), document_id_for(dossier.code)),
        status_code=code,
        timestamp=at or RECEIVED_AT,
        staff=StaffInfo("Văn thư", "Trần Thị Bình", "vanthu@hungyen.example.vn", "0900000001"),
        description=code.label,
    )
    return copy.deepcopy(package)
