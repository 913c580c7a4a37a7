"""The provincial guide's scenario as real packages (names and contacts invented), built by the
simulators' own builders (``simulators.packages``) from the guide's facts.

Procedure 2.000908.000.00.00.H31 (copy from the original register), dossier
Bo_Thu_Tuc_Cap_Huyen-221126-0003, sent as Số ký hiệu 02/LT_iGate, answered by the issued
result 22/CV_LT_MOTCUA signed by the vice-chairman on 2022/11/26.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TypeVar

from connector.edxml import (
    Code,
    DocumentPackage,
    Organization,
    OtherInfo,
    Priority,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusPackage,
)
from simulators import packages
from simulators.packages import File, Issued, Sending
from simulators.pdf import make_pdf

P = TypeVar("P", DocumentPackage, StatusPackage)

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
    sending = Sending(
        dossier_code=dossier.code,  # the guide puts the dossier code in Trích yếu
        number_symbol=str(SEND_CODE),
        content=f"Hồ sơ {PROCEDURE_NAME} của công dân {dossier.applicant}",
        officer_name="Cán bộ tiếp nhận test",
        place="Hưng Yên",
        due_date=RECEIVED_AT.date(),
    )
    file = File(
        "DM_1669450153.pdf",
        dossier_pdf(dossier, padding),
        description="Thành phần hồ sơ",
        content_id=f"cid:{document_id_for(dossier.code, 'file')}",
    )
    package = packages.send_package(ONESTOP, AGENCY, sending, [file], RECEIVED_AT, document_id_for(dossier.code))
    # The guide's sample fills in more of the optional fields than the simulators' form does.
    return _own(
        replace(
            package,
            signer=SignerInfo("Cán bộ tiếp nhận", "Chuyên viên", sending.officer_name),
            other=OtherInfo(priority=Priority.NORMAL, sphere_of_promulgation="Lưu hành nội bộ", page_amount=1),
        )
    )


def _answers(dossier: Dossier) -> ResponseFor:
    return ResponseFor(ONESTOP.organ_id, str(SEND_CODE), RECEIVED_AT.date(), document_id_for(dossier.code))


def result_package(dossier: Dossier = GUIDE_DOSSIER) -> DocumentPackage:
    """What the document-management system publishes after issuing the result."""
    issued = Issued(str(RESULT_CODE), ISSUED_ON, "phochutich", "Phó Chủ tịch", "Hưng Yên")
    file = File(
        "22_CV_LT_MOTCUA.pdf",
        result_pdf(dossier),
        description="Tệp tin kết quả",
        content_id=f"cid:{document_id_for(dossier.code, 'result-file')}",
    )
    issued_at = datetime.combine(ISSUED_ON, datetime.min.time()).replace(hour=16)
    package = packages.result_package(
        AGENCY,
        ONESTOP,
        _answers(dossier),
        issued,
        dossier.code,
        [file],
        issued_at,
        document_id_for(dossier.code, "result"),
    )
    return _own(replace(package, signer=SignerInfo("KT. Chủ tịch", issued.signer_position, issued.signer_name)))


def status_package(code: StatusCode, dossier: Dossier = GUIDE_DOSSIER, at: datetime | None = None) -> StatusPackage:
    """A status report from the agency about the dossier's document."""
    staff = StaffInfo("Văn thư", "Trần Thị Bình", "vanthu@hungyen.example.vn", "0900000001")
    return _own(packages.status_package(AGENCY, _answers(dossier), code, at or RECEIVED_AT, staff))


def _own(package: P) -> P:
    """Callers may change what they get; the shared organisations must not change with it."""
    return copy.deepcopy(package)
