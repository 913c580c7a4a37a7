"""Every real sample in ../shared/interop/edxml-samples: read the right facts, or refuse precisely."""

from __future__ import annotations

import pytest

from connector.edxml import (
    BusinessDocType,
    DocumentPackage,
    SignatureState,
    StatusCode,
    StatusPackage,
    parse,
    validate,
)
from connector.errors import ErrorCode
from testkit.faults import refused_parse

STATUS_SAMPLES = {
    "status.edxml": None,
    "status_inbox_01.edxml": StatusCode.ARRIVED,
    "status_rejection_02.edxml": StatusCode.REFUSED,
    "status_acceptance_03.edxml": StatusCode.ACCEPTED,
    "status_assignment_04.edxml": StatusCode.ASSIGNED,
    "status_processing_05.edxml": StatusCode.IN_PROGRESS,
    "status_finish_06.edxml": StatusCode.FINISHED,
    "status_cancellation_13.edxml": StatusCode.TAKEN_BACK,
    "status_change-acceptance_15.edxml": StatusCode.CHANGE_ACCEPTED,
    "status_change-rejection_16.edxml": StatusCode.CHANGE_REFUSED,
}


@pytest.mark.parametrize("name,code", STATUS_SAMPLES.items())
def test_status_samples_report_their_code_and_the_document_they_answer(samples, name, code):
    package = parse((samples / name).read_bytes())
    assert isinstance(package, StatusPackage)
    if code is not None:
        assert package.status_code is code
    # "taken back" (13) comes from the document's sender; every other status from its receiver
    assert package.sender.organ_id == ("000.00.00.G22" if code is StatusCode.TAKEN_BACK else "000.00.00.H41")
    assert package.response_for.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert package.response_for.code == "7816/VPCP-TTĐT"
    assert validate((samples / name).read_bytes()).valid


def test_sdk_2019_package(samples):
    package = parse((samples / "852e179c-8eca-4502-ac38-0b97321f29c3.edxml").read_bytes())
    assert isinstance(package, DocumentPackage)
    assert package.sender.organ_name == "Văn phòng Chính phủ"
    assert str(package.code) == "1223412/PRO-TEST-CASE1"
    assert package.subject == "Văn bản liên thông chỉ đạo - 190701"
    assert package.signature is SignatureState.PLACEHOLDER  # not XML-DSig: unsigned
    assert [(a.name, a.content_type) for a in package.attachments] == [
        ("GUIDE_INSTALL OPENVPN.SIGNED.PDF", "application/pdf")
    ]
    assert package.attachments[0].size == 17


@pytest.mark.parametrize(
    "name,size",
    [("874e0f18-90dc-45fb-989a-65401470ba84.edxml", 11229), ("9e272474-0603-48a2-b525-9cd1af689612.edxml", 18839)],
)
def test_sdk_2025_packages_with_hosted_tenant_ids(samples, name, size):
    data = (samples / name).read_bytes()
    package = parse(data)
    assert package.sender.organ_id == "vxp.saas.03"
    assert package.traces[0].organ_id == "null"
    assert package.attachments[0].size == size
    assert package.attachments[0].data.startswith(b"%PDF")
    report = validate(data)
    assert report.valid  # vxp.saas.* is a configured exception
    assert any("'null'" in w.reason for w in report.warnings)


@pytest.mark.parametrize(
    "name,doc_type",
    [
        ("edoc_update.edxml", BusinessDocType.UPDATE),
        ("edoc_replacement.edxml", BusinessDocType.REPLACE),
        ("edoc_revocation.edxml", BusinessDocType.REVOKE),
    ],
)
def test_business_samples(samples, name, doc_type):
    package = parse((samples / name).read_bytes())
    assert package.business.doc_type is doc_type
    assert package.signature is SignatureState.PLACEHOLDER
    assert package.attachments[0].name == "1896_QD-TTg_m_294779.doc"
    assert package.attachments[0].size == 388347


def test_stray_bytes_before_the_declaration_are_named(samples):
    error = refused_parse((samples / "edoc_new.edxml").read_bytes(), ErrorCode.MALFORMED_XML)
    assert "4 stray bytes b'1212' before the XML declaration" in str(error)


def test_undeclared_namespace_prefix_is_named_with_its_line(samples):
    report = validate((samples / "edoc.edxml").read_bytes())
    assert not report.valid
    (issue,) = report.errors
    assert issue.line == 116
    assert "undeclared namespace prefix" in issue.reason and "xlink" in issue.reason
