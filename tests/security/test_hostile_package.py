"""Package family: signed edXML packages whose content is hostile – ZIP entries that are links
or devices, path tricks, bombs, base64 that is not base64, floods of unknown elements. Each
reaches the connector over HTTP correctly signed by a trusted sender, gets its documented fault,
and changes no row."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest

from connector.edxml import ParseLimits, StatusCode, build, validate
from connector.errors import ErrorCode
from signing import sign_package
from simulators import guide
from testkit.faults import refused_envelope
from testkit.rawsoap import b64, envelope, send_document

ATTACHMENT = (b"<edXML:ContentTransferEncoded>", b"</edXML:ContentTransferEncoded>")


def zip_entry(name: str = "DM.pdf", content: bytes = b"%PDF-1.4 tiny", file_type: int = stat.S_IFREG) -> bytes:
    info = zipfile.ZipInfo(name, date_time=(2016, 1, 1, 0, 0, 0))
    info.create_system = 3  # Unix: the file type lives in the high bits of external_attr
    info.external_attr = (file_type | 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(info, content)
    return buffer.getvalue()


def two_files() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.pdf", b"a")
        archive.writestr("b.pdf", b"b")
    return buffer.getvalue()


def with_attachment_text(text: str) -> bytes:
    data = build(guide.send_package())
    start = data.index(ATTACHMENT[0]) + len(ATTACHMENT[0])
    return data[:start] + text.encode() + data[data.index(ATTACHMENT[1]) :]


def with_unknown_elements(count: int) -> bytes:
    junk = b"<edXML:Junk>x</edXML:Junk>" * count
    return build(guide.send_package()).replace(b"</edXML:MessageHeader>", junk + b"</edXML:MessageHeader>", 1)


def deeply_nested() -> bytes:
    return build(guide.send_package()).replace(
        b"</edXML:MessageHeader>", b"<edXML:Junk>" * 40 + b"</edXML:Junk>" * 40 + b"</edXML:MessageHeader>", 1
    )


SIGNED = {
    "ZIP entry is a symbolic link": (
        with_attachment_text(b64(zip_entry(content=b"/etc/passwd", file_type=stat.S_IFLNK))),
        ErrorCode.ATTACHMENT_INVALID,
    ),
    "ZIP entry is a character device": (
        with_attachment_text(b64(zip_entry(file_type=stat.S_IFCHR))),
        ErrorCode.ATTACHMENT_INVALID,
    ),
    "ZIP entry is a block device": (
        with_attachment_text(b64(zip_entry(file_type=stat.S_IFBLK))),
        ErrorCode.ATTACHMENT_INVALID,
    ),
    "ZIP entry is a FIFO": (with_attachment_text(b64(zip_entry(file_type=stat.S_IFIFO))), ErrorCode.ATTACHMENT_INVALID),
    "ZIP entry is a socket": (
        with_attachment_text(b64(zip_entry(file_type=stat.S_IFSOCK))),
        ErrorCode.ATTACHMENT_INVALID,
    ),
    "ZIP with two files": (with_attachment_text(b64(two_files())), ErrorCode.ATTACHMENT_INVALID),
    "ZIP entry climbing out (../)": (
        with_attachment_text(b64(zip_entry("../../evil.pdf"))),
        ErrorCode.ATTACHMENT_INVALID,
    ),
    "ZIP entry with an absolute path": (
        with_attachment_text(b64(zip_entry("/etc/cron.d/x"))),
        ErrorCode.ATTACHMENT_INVALID,
    ),
    "ZIP entry with a drive letter": (with_attachment_text(b64(zip_entry("C:evil.pdf"))), ErrorCode.ATTACHMENT_INVALID),
    "ZIP entry with a control character": (
        with_attachment_text(b64(zip_entry("a\x07.pdf"))),
        ErrorCode.ATTACHMENT_INVALID,
    ),
    "ZIP bomb": (with_attachment_text(b64(zip_entry(content=bytes(8 * 1024 * 1024)))), ErrorCode.ATTACHMENT_INVALID),
    "broken ZIP": (with_attachment_text("UEsDBBQAAAAIAA=="), ErrorCode.ATTACHMENT_INVALID),
    "attachment base64 with '!'": (with_attachment_text("JVBERi0x!!!!"), ErrorCode.ATTACHMENT_INVALID),
    "attachment base64 with data after padding": (with_attachment_text("JVA=JVBE"), ErrorCode.ATTACHMENT_INVALID),
    "attachment base64 of a bad length": (with_attachment_text("JVBERi0xL"), ErrorCode.ATTACHMENT_INVALID),
    "100,000 unknown elements": (with_unknown_elements(100_000), ErrorCode.SCHEMA_INVALID),
    "300 unknown elements": (with_unknown_elements(300), ErrorCode.SCHEMA_INVALID),
    "nesting deeper than the limit": (deeply_nested(), ErrorCode.FORBIDDEN_XML),
    "manifest and attachments disagree": (
        build(guide.send_package()).replace(b"<edXML:ContentId>cid:", b"<edXML:ContentId>cid:other-", 1),
        ErrorCode.MANIFEST_MISMATCH,
    ),
}
# Signed by its own sender (the agency), so that only the operation is wrong.
STATUS_AS_DOCUMENT = build(guide.status_package(StatusCode.ARRIVED))

UNSIGNED = {
    "not edXML": (b"<invoice xmlns='urn:x'/>", ErrorCode.NOT_EDXML),
    "a DOCTYPE in the package": (
        b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x "y">]>' + build(guide.send_package()).split(b"?>", 1)[1],
        ErrorCode.MALFORMED_XML,
    ),
    "package is not XML": (b"%PDF-1.4 this is a PDF", ErrorCode.MALFORMED_XML),
}


@pytest.mark.parametrize("name", SIGNED)
def test_hostile_signed_package_gets_its_fault_and_changes_nothing(live, name):  # noqa: F811
    data, code = SIGNED[name]
    signed = sign_package(data, live.runtime.dev_keys.identity(guide.ONESTOP.organ_id))
    refused_envelope(live, envelope(send_document(b64(signed))), code)


def test_a_status_package_sent_as_a_document_changes_nothing(live):  # noqa: F811
    signed = sign_package(STATUS_AS_DOCUMENT, live.runtime.dev_keys.identity(guide.AGENCY.organ_id))
    refused_envelope(live, envelope(send_document(b64(signed))), ErrorCode.PACKAGE_INVALID)


@pytest.mark.parametrize("name", UNSIGNED)
def test_hostile_package_bytes_get_their_fault_and_change_nothing(live, name):  # noqa: F811
    data, code = UNSIGNED[name]
    refused_envelope(live, envelope(send_document(b64(data))), code)


def test_a_link_inside_a_zip_is_named_as_such(live):  # noqa: F811
    data, code = SIGNED["ZIP entry is a symbolic link"]
    signed = sign_package(data, live.runtime.dev_keys.identity(guide.ONESTOP.organ_id))
    assert (
        "is a symbolic link, not a regular file"
        in refused_envelope(live, envelope(send_document(b64(signed))), code).message
    )


# ---- the explanation of a schema failure has bounded cost ---------------------------------
def test_schema_errors_are_explained_up_to_the_limit():
    data = build(guide.send_package()).replace(
        b"</edXML:MessageHeader>", b"".join(b"<edXML:Junk%d/>" % i for i in range(60)) + b"</edXML:MessageHeader>", 1
    )
    report = validate(data, limits=ParseLimits(max_explained_errors=20))
    assert not report.valid
    schema_errors = [i for i in report.errors if i.code is ErrorCode.SCHEMA_INVALID]
    assert 1 <= len(schema_errors) <= 20
    assert any("not examined" in w.reason for w in report.warnings)


def test_the_time_budget_stops_the_explanation_after_the_first_error():
    report = validate(with_unknown_elements(50), limits=ParseLimits(explain_seconds=-1))
    schema_errors = [i for i in report.errors if i.code is ErrorCode.SCHEMA_INVALID]
    assert len(schema_errors) == 1 and "after the first 1" in report.warnings[-1].reason


def test_a_flood_of_elements_is_explained_from_lxml_s_log_with_a_location():
    report = validate(with_unknown_elements(5000), limits=ParseLimits(max_explained_elements=2000))
    schema_errors = [i for i in report.errors if i.code is ErrorCode.SCHEMA_INVALID]
    assert 1 <= len(schema_errors) <= 20
    assert schema_errors[0].line and "Junk" in schema_errors[0].path
