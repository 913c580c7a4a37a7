"""The builder writes canonical edXML and the parser reads back every field."""

from __future__ import annotations

from datetime import date, datetime

import pypdf
from lxml import etree

from connector.edxml import (
    NAMESPACE,
    Attachment,
    AttachmentEncoding,
    Business,
    BusinessDocType,
    Organization,
    OtherInfo,
    Priority,
    ResponseFor,
    StaffInfo,
    StatusCode,
    TraceHeader,
    build,
    parse,
    validate,
)
from simulators import guide


def test_guide_packages_survive_a_round_trip(send_package, result_package):
    for package in (send_package, result_package, guide.status_package(StatusCode.ASSIGNED)):
        assert parse(build(package)) == package


def test_every_optional_field_survives_a_round_trip(send_package):
    package = send_package
    package.recipients.append(
        Organization("000.00.00.H31", "UBND tỉnh Hưng Yên", "", "Số 1", "a@b.vn", "1", "2", "w.vn")
    )
    package.other = OtherInfo(Priority.EXPRESS, "Lưu hành nội bộ", "TVC", 10, 2, True, ["Phụ lục 1", "Phụ lục 2"])
    package.response_for = [
        ResponseFor("000.00.00.G22", "7816/VPCP-TTĐT", date(2015, 9, 30), "000.00.00.G22,2015/09/30,7816")
    ]
    package.to_places = ["Các bộ", "Các tỉnh"]
    package.traces = [TraceHeader("000.00.13.H31", datetime(2022, 11, 26, 15, 9, 15)), TraceHeader(None, None)]
    package.business = Business(
        BusinessDocType.REPLACE, "Thay thế", "x,2022/11/26,1/A", 0, [StaffInfo("VT", "An", "a@b.vn", "09")]
    )
    package.attachments.append(
        Attachment("cid:raw", "ghi chú.txt", "nội dung".encode(), "text/plain", "raw", AttachmentEncoding.BASE64)
    )
    assert parse(build(package)) == package


def test_builder_writes_the_sdk_order_and_edxml_dates(send_package):
    root = etree.fromstring(build(send_package))
    message = root.find(f"{{{NAMESPACE}}}edXMLEnvelope/{{{NAMESPACE}}}edXMLHeader/{{{NAMESPACE}}}MessageHeader")
    order = [etree.QName(child).localname for child in message]
    assert order[:8] == ["From", "To", "DocumentId", "Code", "PromulgationInfo", "DocumentType", "Subject", "Content"]
    date_text = message.findtext(f"{{{NAMESPACE}}}PromulgationInfo/{{{NAMESPACE}}}PromulgationDate")
    assert date_text == "2022/11/26"
    assert root[-1].tag == f"{{{NAMESPACE}}}AttachmentEncoded"


def test_attachments_are_zipped_by_default_and_are_real_pdfs(send_package):
    package = parse(build(send_package))
    attachment = package.attachments[0]
    assert attachment.encoding is AttachmentEncoding.ZIP
    reader = pypdf.PdfReader(__import__("io").BytesIO(attachment.data))
    assert "Bo_Thu_Tuc_Cap_Huyen-221126-0003" in reader.pages[0].extract_text()


def test_guide_fixtures_carry_the_guide_facts(send_package, result_package):
    assert str(send_package.code) == "02/LT_iGate"
    assert send_package.subject == "Bo_Thu_Tuc_Cap_Huyen-221126-0003"
    assert str(result_package.code) == "22/CV_LT_MOTCUA"
    assert result_package.response_for[0].document_id == send_package.document_id
    assert validate(build(send_package)).valid
    assert validate(build(result_package)).valid


def test_build_is_reproducible(send_package):
    assert build(send_package) == build(guide.send_package())
