"""Bad and hostile input: each gets its own specific error; nothing crashes or hangs."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest

from connector.edxml import ParseLimits, build, parse, validate
from connector.errors import ErrorCode
from simulators import guide
from testkit.faults import refused_parse


def with_attachment_body(body: str) -> bytes:
    data = build(guide.send_package()).decode()
    start = data.index("<edXML:ContentTransferEncoded>") + len("<edXML:ContentTransferEncoded>")
    end = data.index("</edXML:ContentTransferEncoded>")
    return (data[:start] + body + data[end:]).encode()


def zipped(entries: dict[str, bytes]) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return base64.b64encode(buffer.getvalue()).decode()


def test_malformed_xml_names_line_and_column():
    error = refused_parse(
        b"<edXML xmlns='http://www.mic.gov.vn/TBT/QCVN_102_2016'>\n<edXMLEnvelope></edXML>", ErrorCode.MALFORMED_XML
    )
    assert error.issues[0].line == 2


def test_wrong_namespace_is_not_edxml():
    error = refused_parse(b"<edXML xmlns='urn:other'><edXMLEnvelope/></edXML>", ErrorCode.NOT_EDXML)
    assert "namespace 'urn:other'" in str(error)


def test_missing_required_elements_are_each_named(send_package):
    data = build(send_package).decode()
    data = data.replace("<edXML:Subject>Bo_Thu_Tuc_Cap_Huyen-221126-0003</edXML:Subject>", "")
    data = data.replace(f"<edXML:DocumentId>{send_package.document_id}</edXML:DocumentId>", "")
    reasons = [i.reason for i in validate(data.encode()).errors]
    assert "required element Subject is missing" in reasons
    assert "required element DocumentId is missing" in reasons


def test_over_long_field_and_invalid_code_are_located(send_package):
    send_package.code.number = "1" * 12
    data = build(send_package).replace(b"<edXML:Priority>0<", b"<edXML:Priority>9<")
    errors = validate(data).errors
    assert any(e.path.endswith("/Code/CodeNumber") and "length" in e.reason and e.line for e in errors)
    assert any(e.path.endswith("/OtherInfo/Priority") for e in errors)


def test_undefined_status_code_is_refused():
    data = build(guide.status_package(guide.StatusCode.ARRIVED)).replace(b">01<", b">07<")
    error = refused_parse(data, ErrorCode.PACKAGE_INVALID)
    assert "StatusCode '07' is undefined" in str(error)
    assert not validate(data).valid


def test_future_promulgation_date_is_invalid(send_package):
    send_package.promulgation.date = send_package.promulgation.date.replace(year=2999)
    (issue,) = validate(build(send_package)).errors
    assert "in the future" in issue.reason and issue.path.endswith("PromulgationDate")


def test_malformed_organ_id_unless_configured(send_package):
    send_package.recipients[0].organ_id = "SOTUPHAP"
    (issue,) = validate(build(send_package)).errors
    assert "OrganId 'SOTUPHAP'" in issue.reason


def test_duplicate_content_ids(send_package):
    send_package.attachments.append(send_package.attachments[0])
    error = refused_parse(build(send_package), ErrorCode.MANIFEST_MISMATCH)
    assert "duplicate ContentId" in str(error)


def test_manifest_attachment_mismatch(send_package):
    data = build(send_package).replace(b"<edXML:ContentId>cid:", b"<edXML:ContentId>cid:x", 1)
    errors = refused_parse(data, ErrorCode.MANIFEST_MISMATCH).issues
    assert {e.code for e in errors} == {ErrorCode.MANIFEST_MISMATCH}
    assert any("not listed in edXMLManifest" in e.reason for e in errors)
    assert any("no attachment carries it" in e.reason for e in errors)


def test_broken_zip():
    body = zipped({"a.pdf": b"%PDF-1.4 hello"})
    broken = base64.b64encode(base64.b64decode(body)[:30]).decode()
    error = refused_parse(with_attachment_body(broken), ErrorCode.ATTACHMENT_INVALID)
    assert "broken ZIP" in str(error)


def test_not_base64():
    error = refused_parse(with_attachment_body("${__StringFromFile(test.txt,,,)}"), ErrorCode.ATTACHMENT_INVALID)
    assert "not base64" in str(error)


def test_zip_bomb_is_refused_without_inflating_it():
    bomb = zipped({"a.pdf": b"\0" * (20 * 1024 * 1024)})
    error = refused_parse(with_attachment_body(bomb), ErrorCode.ATTACHMENT_INVALID)
    assert "zip bomb" in str(error)


def test_oversize_decoded_attachment():
    error = refused_parse(
        with_attachment_body(zipped({"a.pdf": b"x" * 2048})),
        ErrorCode.ATTACHMENT_INVALID,
        ParseLimits(max_attachment_bytes=1024),
    )
    assert "exceeds the limit" in str(error)


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b.pdf", "C:evil.pdf", "..\\x.pdf"])
def test_path_components_in_zip_entry_names(name):
    error = refused_parse(with_attachment_body(zipped({name: b"%PDF"})), ErrorCode.ATTACHMENT_INVALID)
    assert "ZIP archive" in str(error)


def test_path_components_in_attachment_names(send_package):
    send_package.attachments[0].name = "../dossier.pdf"
    error = refused_parse(build(send_package), ErrorCode.ATTACHMENT_INVALID)
    assert "AttachmentName '../dossier.pdf' contains a path separator" in str(error)


def test_zip_with_several_files():
    error = refused_parse(with_attachment_body(zipped({"a.pdf": b"1", "b.pdf": b"2"})), ErrorCode.ATTACHMENT_INVALID)
    assert "holds 2 files" in str(error)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol3;</edXML>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&xxe;</edXML>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_dtds_and_entities_are_refused(data):
    error = refused_parse(data, ErrorCode.FORBIDDEN_XML)
    assert "DOCTYPE" in str(error)
    assert "root:" not in str(error)  # nothing from /etc/passwd leaks into the message


def test_ten_thousand_deep_nesting():
    error = refused_parse(b"<a>" * 10_000 + b"</a>" * 10_000, ErrorCode.FORBIDDEN_XML)
    assert "deep" in str(error)


def test_moderately_deep_nesting_beyond_the_configured_depth():
    error = refused_parse(b"<a>" * 100 + b"</a>" * 100, ErrorCode.FORBIDDEN_XML)
    assert "deeper than 32 levels" in str(error)


def test_sixty_megabyte_package_is_refused_by_size_before_parsing():
    data = b"<edXML>" + b" " * (60 * 1024 * 1024) + b"</edXML>"
    error = refused_parse(data, ErrorCode.TOO_LARGE)
    assert "limit is 52,428,800 bytes" in str(error)


def test_empty_input():
    assert "empty" in str(refused_parse(b"", ErrorCode.MALFORMED_XML))


def test_a_zip_that_understates_its_size_is_refused_not_inflated():
    real = base64.b64decode(zipped({"a.pdf": b"A" * 500_000}))
    # Patch the central directory's uncompressed size down to 1,000 bytes: the inflater is
    # bounded by the declared size, so the lie shows up as a mismatch, not as a 500 kB surprise.
    # Both records lie alike (the local header's size is at offset 22, the directory's at 24).
    directory = real.rindex(b"PK\x01\x02")
    small = (1000).to_bytes(4, "little")
    lied = real[:22] + small + real[26 : directory + 24] + small + real[directory + 28 :]
    error = refused_parse(with_attachment_body(base64.b64encode(lied).decode()), ErrorCode.ATTACHMENT_INVALID)
    assert "does not match" in str(error)


def test_a_zip_whose_directory_and_local_header_disagree_on_the_size_is_refused():
    real = base64.b64decode(zipped({"a.pdf": b"A" * 500_000}))
    directory = real.rindex(b"PK\x01\x02")
    lied = real[: directory + 24] + (1000).to_bytes(4, "little") + real[directory + 28 :]
    error = refused_parse(with_attachment_body(base64.b64encode(lied).decode()), ErrorCode.PACKAGE_INVALID)
    assert "entry 'a.pdf'" in str(error)
    assert "differ from the directory" in str(error)


def test_base64_with_line_breaks_is_read():
    body = zipped({"a.pdf": b"%PDF-1.4 wrapped"})
    wrapped = "\n".join(body[i : i + 76] for i in range(0, len(body), 76))
    package = parse(with_attachment_body(wrapped))
    assert package.attachments[0].data == b"%PDF-1.4 wrapped"
